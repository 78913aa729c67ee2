// The embedded Temporal development server: the Temporal CLI's `server start-dev`,
// with its Web UI, persisting to a file, and the migration search attributes
// registered at start. Used by `npm start` when no server is configured, by the
// demo, the tests and the benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags } from '../common/search-attributes';
import { temporalCliPath } from './cli-binary';

export interface DevServerOptions {
  /** Persistence file; workflows survive a restart on the same file. */
  dbFile: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  /** Where the server's own output goes (defaults next to the db file). */
  logFile?: string;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  port: number;
  uiPort: number;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** Kills the server at once, as a crash would. */
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const logFile = options.logFile ?? `${options.dbFile}.log`;
  const log = fs.openSync(logFile, 'a');
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--db-filename', options.dbFile,
    '--log-level', 'warn',
    ...searchAttributeFlags(),
    ...(options.headless ? ['--headless'] : ['--ui-port', String(uiPort), '--ui-disable-news-fetch']),
  ];
  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', 'pipe', log] });
  fs.closeSync(log);
  const address = `127.0.0.1:${port}`;
  try {
    await waitForBanner(child, logFile);
    await waitUntilServing(address, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    address,
    port,
    uiPort,
    uiUrl: options.headless ? undefined : `http://127.0.0.1:${uiPort}`,
    process: child,
    stop: () => stop('SIGTERM'),
    kill: () => stop('SIGKILL'),
  };
}

/** The CLI prints its banner once the server is up; an early exit is a failed start. */
function waitForBanner(child: ChildProcess, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`Temporal dev server did not start within 60 s (log: ${logFile})`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('Temporal Server:')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Temporal dev server exited with code ${code} before it was ready: ${readTail(logFile)}`));
    });
  });
}

async function waitUntilServing(address: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; ; attempt++) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: '2s' });
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) throw err;
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 1000)));
    }
  }
}

function readTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '(no log)';
  }
}
