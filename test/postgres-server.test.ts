// The suite's PostgreSQL is a real server that behaves like one: separate databases,
// password authentication, and a stop that clients notice and a start that keeps the data.
// The catalog tests (issue 11) build on exactly these properties.
import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { postgres } from './support/postgres-hooks';
import { startThrowawayPostgres } from './support/postgres';

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  return client;
}

async function query<T = Record<string, unknown>>(url: string, text: string, values?: unknown[]): Promise<T[]> {
  const client = await connect(url);
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

function uniqueName(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 8)}`;
}

const ci = () => process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

/**
 * A test that needs the suite's own server cannot run its fault on a developer's
 * (TASKSD_TEST_POSTGRES_URL): it says so and is skipped there, and fails on CI, which
 * must run it.
 */
function needsOwnServer(test: Mocha.Context, what: string): void {
  if (postgres().ownServer) return;
  const reason = `${what} needs the suite's own PostgreSQL, but TASKSD_TEST_POSTGRES_URL points the tests at another server`;
  if (ci()) assert.fail(`CI must run this test, but: ${reason}`);
  console.log(`      NOT RUN: ${reason}`);
  test.skip();
}

describe('the test PostgreSQL server', () => {
  it('accepts connections and is PostgreSQL 15 or newer', async () => {
    const [row] = await query<{ v: number }>(postgres().url, `SELECT current_setting('server_version_num')::int AS v`);
    assert.ok(row.v >= 150000, `server_version_num ${row.v}`);
  });

  it('creates databases that are independent of each other', async () => {
    const a = await postgres().createDatabase(uniqueName('pgtest_a'));
    const b = await postgres().createDatabase(uniqueName('pgtest_b'));
    assert.notEqual(a, b);
    await query(a, 'CREATE TABLE t (v text)');
    await query(a, `INSERT INTO t VALUES ('in a')`);
    const [missing] = await query<{ t: string | null }>(b, `SELECT to_regclass('t')::text AS t`);
    assert.equal(missing.t, null, 'a table made in one database is not in the other');
    await query(b, 'CREATE TABLE t (v text)');
    await query(b, `INSERT INTO t VALUES ('in b'), ('also in b')`);
    assert.deepEqual(await query(a, 'SELECT v FROM t ORDER BY v'), [{ v: 'in a' }]);
    assert.deepEqual(await query(b, 'SELECT v FROM t ORDER BY v'), [{ v: 'also in b' }, { v: 'in b' }]);
  });

  it('refuses a wrong password with SQLSTATE 28P01', async function () {
    needsOwnServer(this, 'refusing a wrong password'); // a developer's server may trust local connections
    const url = new URL(postgres().url);
    url.password = 'wrong-password';
    await assert.rejects(connect(url.href), (err: Error & { code?: string }) => {
      assert.equal(err.code, '28P01', err.message);
      return true;
    });
  });

  it('stops (clients are refused) and starts again on the same port with the data kept', async function () {
    needsOwnServer(this, 'stopping and starting the server'); // stopping a developer's server is not ours to do
    this.timeout(60_000);
    const db = await postgres().createDatabase(uniqueName('pgtest_stop'));
    await query(db, 'CREATE TABLE kept (n int)');
    await query(db, 'INSERT INTO kept VALUES (1), (2), (3)');

    // A connection open across the stop is cut; pg reports that as an 'error' event, which
    // would crash the process without a listener (code that holds connections must listen).
    const held = await connect(db);
    const heldErrors: Error[] = [];
    held.on('error', (err) => heldErrors.push(err));

    await postgres().stopServer();
    try {
      await assert.rejects(connect(db), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ECONNREFUSED', err.message);
        return true;
      });
      await assert.rejects(held.query('SELECT 1'));
    } finally {
      await postgres().startServer();
    }
    await held.end().catch(() => undefined);

    assert.deepEqual(await query(db, 'SELECT sum(n)::int AS s FROM kept'), [{ s: 6 }]);

    // restart() is the same stop and start; a crash-like stop recovers from the WAL.
    await postgres().restart();
    await query(db, 'INSERT INTO kept VALUES (4)');
    await postgres().stopServer('immediate');
    await postgres().startServer();
    assert.deepEqual(await query(db, 'SELECT sum(n)::int AS s FROM kept'), [{ s: 10 }]);
  });

  it("used as a developer's server (TASKSD_TEST_POSTGRES_URL), creates and drops prefixed databases and refuses to stop", async () => {
    // The suite's own server stands in for a developer's one.
    const dev = await startThrowawayPostgres({ existingUrl: postgres().adminUrl });
    assert.equal(dev.ownServer, false);
    assert.ok(!dev.description.includes(new URL(postgres().adminUrl).password), 'the password is never shown');
    const url = await dev.createDatabase('devtest');
    const name = new URL(url).pathname.slice(1);
    assert.match(name, /^tasksd_test_[0-9a-f]{8}_devtest$/);
    assert.deepEqual(await query(url, 'SELECT current_database() AS d'), [{ d: name }]);
    await assert.rejects(dev.stopServer(), /needs the suite's own PostgreSQL; unset TASKSD_TEST_POSTGRES_URL/);
    await dev.stop();
    assert.deepEqual(await query(postgres().adminUrl, 'SELECT datname FROM pg_database WHERE datname = $1', [name]), []);
  });
});
