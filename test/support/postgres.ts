// A real, throwaway PostgreSQL for the tests (issue 11: never a mock, never an in-memory
// imitation): Debian's server binaries (scripts/ensure-postgres.sh installs them),
// `initdb` into a fresh temp directory as the unprivileged `postgres` user, a free port on
// 127.0.0.1, and everything removed at the end. Or, with TASKSD_TEST_POSTGRES_URL set, a
// developer's own server, on which only databases are created (and dropped again).
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from '../../temporal/dev-server';

const execFileAsync = promisify(execFile);

/** The role the tests connect as: initdb's bootstrap superuser, so it may create databases. */
const ROLE = 'tasksd';

export interface ThrowawayPostgres {
  /** The `tasksd` database, for tests that need no fresh one. */
  url: string;
  /** The `postgres` maintenance database, as a superuser. */
  adminUrl: string;
  /** One line for the logs: which server this is, never with its password. */
  description: string;
  /** False on a developer's server: it cannot be stopped, and its auth is theirs. */
  ownServer: boolean;
  /** A fresh, empty database; returns its URL. On a developer's server the name gets a per-run prefix. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (`fast`: clients are disconnected; `immediate`: as a crash would) on the same port and data. */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  startServer(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the server and removes its directory (on a developer's server: drops the databases made here). */
  stop(): Promise<void>;
}

export async function startThrowawayPostgres(options: { existingUrl?: string } = {}): Promise<ThrowawayPostgres> {
  const existing = options.existingUrl ?? process.env.TASKSD_TEST_POSTGRES_URL;
  return existing ? useExistingServer(existing) : startOwnServer();
}

async function startOwnServer(): Promise<ThrowawayPostgres> {
  const bindir = serverBinDir();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tasksd-pg-'));
  const dataDir = path.join(root, 'data');
  const logFile = path.join(root, 'postgres.log');
  const password = randomBytes(16).toString('hex');
  const port = await freePort();

  // initdb and postgres refuse to run as root; as root we hand the directory to `postgres`.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    fs.chownSync(root, uid, gid);
  }
  const pg = async (tool: string, args: string[]) => {
    const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bindir, tool), ...args]] : [path.join(bindir, tool), args];
    try {
      // cwd inside the temp dir: `postgres` may not be allowed into ours.
      await execFileAsync(command, argv, { cwd: root, timeout: 120_000 });
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr || e.message}\n${readTail(logFile)}`);
    }
  };

  // Loopback only; the unix socket stays in our private directory (not /var/run/postgresql);
  // fsync off because a throwaway cluster need not survive a crash of the machine, only of
  // PostgreSQL (stopServer('immediate') still recovers from WAL).
  const serverOptions = `-p ${port} -k '${root}' -c listen_addresses=127.0.0.1 -c fsync=off`;
  let running = false;
  const startServer = async () => {
    // -w: pg_ctl returns once the server accepts connections, so no polling here.
    await pg('pg_ctl', ['start', '-w', '-D', dataDir, '-l', logFile, '-o', serverOptions]);
    running = true;
  };
  const stopServer = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pg('pg_ctl', ['stop', '-w', '-D', dataDir, '-m', mode]);
    running = false;
  };

  // If the run is cut short (Ctrl-C, a crash) pg_ctl's daemon would outlive us.
  const onExit = () => {
    if (running) {
      try {
        execFileSync(asRoot ? 'runuser' : path.join(bindir, 'pg_ctl'), [...(asRoot ? ['-u', 'postgres', '--', path.join(bindir, 'pg_ctl')] : []), 'stop', '-D', dataDir, '-m', 'immediate'], { cwd: root, stdio: 'ignore' });
      } catch {
        // best effort
      }
    }
    fs.rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  try {
    const pwFile = path.join(root, 'pwfile');
    fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o644 }); // only `postgres` may enter root; removed just below
    try {
      // scram-sha-256 everywhere, so a wrong password is refused as it would be in production.
      // --no-sync: nothing here must survive a power cut, and it saves seconds.
      await pg('initdb', ['-D', dataDir, '-U', ROLE, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    } finally {
      fs.rmSync(pwFile, { force: true });
    }

    await startServer();
  } catch (err) {
    process.removeListener('exit', onExit);
    onExit();
    throw new Error(`${(err as Error).message}\nInstall the server with scripts/ensure-postgres.sh, or point the tests at your own with TASKSD_TEST_POSTGRES_URL.`);
  }

  const urlFor = (db: string) => `postgres://${ROLE}:${password}@127.0.0.1:${port}/${db}`;
  const adminUrl = urlFor('postgres');
  await sql(adminUrl, `CREATE DATABASE ${ROLE}`);
  const version = (await sql(adminUrl, 'SHOW server_version')).rows[0].server_version;

  return {
    url: urlFor(ROLE),
    adminUrl,
    description: `PostgreSQL ${version}, throwaway cluster on 127.0.0.1:${port} (${dataDir})`,
    ownServer: true,
    async createDatabase(name) {
      await sql(adminUrl, `CREATE DATABASE ${identifier(name)}`);
      return urlFor(name);
    },
    stopServer,
    startServer,
    async restart() {
      await stopServer();
      await startServer();
    },
    async stop() {
      process.removeListener('exit', onExit);
      if (running) await stopServer();
      if (!process.env.KEEP_TEST_FILES) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

async function useExistingServer(existingUrl: string): Promise<ThrowawayPostgres> {
  const shown = new URL(existingUrl);
  shown.password = '';
  // Fail at once, with the URL (without its password), if the developer's server is unusable.
  let version: string;
  try {
    version = (await sql(existingUrl, 'SHOW server_version')).rows[0].server_version;
  } catch (err) {
    throw new Error(`TASKSD_TEST_POSTGRES_URL (${shown.href}) is not usable: ${(err as Error).message}`);
  }
  // Databases on someone else's server outlive the run unless dropped, and must not collide
  // with theirs or another run's: a per-run prefix, and every one dropped by stop().
  const prefix = `tasksd_test_${randomBytes(4).toString('hex')}_`;
  const created: string[] = [];
  const urlFor = (db: string) => {
    const url = new URL(existingUrl);
    url.pathname = `/${encodeURIComponent(db)}`;
    return url.href;
  };
  const unavailable = (what: string) => async () => {
    throw new Error(`${what} needs the suite's own PostgreSQL; unset TASKSD_TEST_POSTGRES_URL (${shown.href}) to run this test`);
  };
  return {
    url: existingUrl,
    adminUrl: existingUrl,
    description: `PostgreSQL ${version}, developer's server at ${shown.href}`,
    ownServer: false,
    async createDatabase(name) {
      const db = prefix + name;
      await sql(existingUrl, `CREATE DATABASE ${identifier(db)}`);
      created.push(db);
      return urlFor(db);
    },
    stopServer: unavailable('stopping PostgreSQL'),
    startServer: unavailable('starting PostgreSQL'),
    restart: unavailable('restarting PostgreSQL'),
    async stop() {
      // FORCE: a test that leaked a connection must not leave its database behind.
      for (const db of created.splice(0)) await sql(existingUrl, `DROP DATABASE IF EXISTS ${identifier(db)} WITH (FORCE)`);
    },
  };
}

/** One statement on its own connection (CREATE DATABASE cannot run in a pool's transaction anyway). */
async function sql(url: string, text: string) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

/** Test database names are ours, so plain ones only; quoted anyway. */
function identifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** Debian keeps the server off PATH; postgresql-common's pg_config names the newest one. */
function serverBinDir(): string {
  let bindir: string;
  try {
    bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('no PostgreSQL server found (pg_config is missing): run scripts/ensure-postgres.sh, or set TASKSD_TEST_POSTGRES_URL');
  }
  if (!fs.existsSync(path.join(bindir, 'initdb'))) {
    throw new Error(`no initdb in ${bindir}: run scripts/ensure-postgres.sh, or set TASKSD_TEST_POSTGRES_URL`);
  }
  return bindir;
}

function readTail(file: string): string {
  try {
    return `log ${file}:\n${fs.readFileSync(file, 'utf8').slice(-2000)}`;
  } catch {
    return '(no server log)';
  }
}
