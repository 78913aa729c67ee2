// The catalog on both drivers (SQLite, and a real PostgreSQL started by the suite):
// the same semantics for nodes, shards, claims and the owner flip's compare-and-set;
// races between processes; a schema made once however many processes start at once;
// clear refusals for a bad URL, an unknown database or a wrong password (never the
// password itself); `tasksd catalog copy`; and a move that outlives PostgreSQL being
// stopped for ten seconds.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Catalog } from '../catalog/catalog';
import { catalogLocation, openCatalog } from '../catalog/open';
import { MigrationClient } from '../client';
import { ErrorType } from '../common/errors';
import { PROJECT_ROOT } from '../temporal/cli-binary';
import { clusterToken } from '../common/cluster-token';
import { Cluster } from '../store/cluster';
import { startEmbeddedCluster } from '../temporal/embedded-cluster';
import { CATALOG_DRIVERS, makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { postgres } from './support/postgres-hooks';
import { suite } from './support/root-hooks';
import { tasksd } from './support/run';
import { startWorkerProcess, waitForOutput } from './support/worker-process';

function rejectsWith(type: string, pattern: RegExp) {
  return (err: Error & { type?: string }) => {
    assert.equal(err.type, type, err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

/** Starts contenders as separate processes, releases them at once, and returns what each printed. */
async function race(t: TestCluster, contenders: string[][]): Promise<unknown[]> {
  const children = contenders.map((args) =>
    spawn(process.execPath, ['--require', 'tsx/cjs', path.join('test', 'support', 'catalog-race.ts'), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...t.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  const outputs = children.map((child) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    child.stderr!.on('data', (chunk) => (err += chunk));
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', () => out.includes('ready\n') && resolve());
      child.once('exit', () => reject(new Error(`contender exited before it was ready: ${err}`)));
    });
    const done = new Promise<unknown>((resolve, reject) =>
      child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.split('\n')[1]).result) : reject(new Error(`contender failed: ${err}`)))),
    );
    return { ready, done };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const child of children) child.stdin!.end('go\n');
  return Promise.all(outputs.map((o) => o.done));
}

for (const driver of CATALOG_DRIVERS) {
  describe(`catalog on ${driver}`, () => {
    let t: TestCluster;
    let catalog: Catalog;
    beforeEach(async () => {
      t = await makeCluster({ catalog: driver });
      catalog = t.cluster.catalog;
    });
    afterEach(() => t.close());

    it('records nodes and shards once, naming what already exists', async () => {
      await assert.rejects(catalog.addNode('node-a', '/elsewhere'), rejectsWith(ErrorType.NodeExists, /^node node-a already exists$/));
      const dirOfA = (await catalog.node('node-a')).dir;
      await assert.rejects(catalog.addNode('node-z', dirOfA), rejectsWith(ErrorType.NodeExists, /already belongs to node node-a/));
      await assert.rejects(catalog.node('node-z'), rejectsWith(ErrorType.UnknownNode, /^unknown node node-z: add it/));
      await catalog.insertShard('acme', 'one', 'node-a');
      await assert.rejects(catalog.insertShard('acme', 'one', 'node-b'), rejectsWith(ErrorType.ShardExists, /^shard acme\/one already exists$/));
      assert.deepEqual(await catalog.shard('acme', 'one'), { org: 'acme', ns: 'one', owner: 'node-a', jobId: null, epoch: 1 });
      await assert.rejects(catalog.shard('acme', 'two'), rejectsWith(ErrorType.UnknownShard, /^unknown shard acme\/two/));
      assert.deepEqual((await catalog.listNodes()).map((n) => n.id), ['node-a', 'node-b']);
      assert.match(catalog.clusterId, /^c-[0-9a-f]{12}$/);
    });

    it('claims: one job at a time, idempotent for its holder, with the route and time recorded', async () => {
      await catalog.insertShard('acme', 'one', 'node-a');
      await catalog.claim('acme', 'one', 'job-1', { from: 'node-a', to: 'node-b' });
      await catalog.claim('acme', 'one', 'job-1', { from: 'node-a', to: 'node-b' });
      await assert.rejects(
        catalog.claim('acme', 'one', 'job-2'),
        rejectsWith(ErrorType.ShardBusy, /^shard acme\/one is already being migrated by job job-1; wait for it or cancel it with "tasksd cancel job-1"$/),
      );
      const [claim] = await catalog.listClaims();
      assert.deepEqual({ ...claim, claimedAt: typeof claim.claimedAt }, {
        org: 'acme', ns: 'one', owner: 'node-a', jobId: 'job-1', epoch: 1, from: 'node-a', to: 'node-b', claimedAt: 'string',
      });
      await catalog.release('acme', 'one', 'job-2'); // not the holder: nothing happens
      assert.equal((await catalog.shard('acme', 'one')).jobId, 'job-1');
      await catalog.release('acme', 'one', 'job-1');
      assert.deepEqual(await catalog.listClaims(), []);
    });

    it('the owner flip is one compare-and-set: once, for the claiming job, from the owner; it bumps the epoch', async () => {
      await catalog.insertShard('acme', 'one', 'node-a');
      assert.equal(await catalog.flipOwner('acme', 'one', 'node-a', 'node-b', 'job-1'), null, 'no claim, no flip');
      await catalog.claim('acme', 'one', 'job-1');
      assert.equal(await catalog.flipOwner('acme', 'one', 'node-b', 'node-a', 'job-1'), null, 'not from the owner');
      assert.equal(await catalog.flipOwner('acme', 'one', 'node-a', 'node-b', 'job-2'), null, 'not the claiming job');
      assert.equal(await catalog.flipOwner('acme', 'one', 'node-a', 'node-b', 'job-1'), 2);
      assert.equal(await catalog.flipOwner('acme', 'one', 'node-a', 'node-b', 'job-1'), null, 'a repeated flip changes nothing');
      assert.deepEqual(await catalog.shard('acme', 'one'), { org: 'acme', ns: 'one', owner: 'node-b', jobId: 'job-1', epoch: 2 });
    });

    it('a move records its epoch in the new owner’s file, and a write at a stale epoch is refused', async () => {
      await seedShard(t, 'acme', 'one', 'node-a', 10);
      await catalog.claim('acme', 'one', 'job-1', { from: 'node-a', to: 'node-b' });
      // The move's steps, as the activities run them, without Temporal.
      await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'one', jobId: 'job-1' });
      const source = await t.cluster.fileOn('node-a', 'acme', 'one');
      const dest = await t.cluster.fileOn('node-b', 'acme', 'one');
      fs.copyFileSync(source, dest);
      await t.replicator.propose({ op: 'unlock', org: 'acme', ns: 'one', jobId: 'job-1', handoff: { from: 'node-a', to: 'node-b' } });
      assert.deepEqual([(await catalog.shard('acme', 'one')).epoch, (await t.cluster.summarize(await catalog.shard('acme', 'one'))).owner], [2, 'node-b']);
      const { seq } = await t.replicator.propose({ op: 'put', org: 'acme', ns: 'one', task: { id: 'after', title: 'at epoch 2' } });
      assert.equal((await t.cluster.getTask('acme', 'one', 'after'))?.seq, seq);
      // A stale catalog row (as if restored from an old backup) no longer matches the file.
      await catalog.adopt({ ...(await catalog.snapshot()), shards: [{ org: 'acme', ns: 'one', owner: 'node-b', jobId: null, epoch: 1 }] });
      await assert.rejects(
        t.replicator.propose({ op: 'put', org: 'acme', ns: 'one', task: { id: 'stale', title: 'refused' } }),
        rejectsWith(ErrorType.ShardLocked, /this file is at ownership epoch 2 but the catalog's owner is at 1/),
      );
      assert.equal(await t.cluster.getTask('acme', 'one', 'stale'), undefined);
    });

    it('two flips of one shard racing from separate processes: exactly one wins, every round', async function () {
      this.timeout(120_000);
      for (let round = 0; round < 10; round++) {
        const ns = `race${round}`;
        await catalog.insertShard('acme', ns, 'node-a');
        await catalog.claim('acme', ns, 'job-1');
        const results = await race(t, [
          ['flip', 'acme', ns, 'node-a', 'node-b', 'job-1'],
          ['flip', 'acme', ns, 'node-a', 'node-b', 'job-1'],
        ]);
        assert.deepEqual([...results].sort(), [2, null], `round ${round}: ${JSON.stringify(results)}`);
        assert.deepEqual(await catalog.shard('acme', ns), { org: 'acme', ns, owner: 'node-b', jobId: 'job-1', epoch: 2 });
      }
    });

    it('two claims of one shard racing from separate processes: exactly one job holds it, the other is told which', async function () {
      this.timeout(60_000);
      for (let round = 0; round < 5; round++) {
        const ns = `claim${round}`;
        await catalog.insertShard('acme', ns, 'node-a');
        const results = (await race(t, [
          ['claim', 'acme', ns, 'job-x'],
          ['claim', 'acme', ns, 'job-y'],
        ])) as string[];
        const holder = (await catalog.shard('acme', ns)).jobId!;
        const loser = holder === 'job-x' ? 'job-y' : 'job-x';
        assert.deepEqual(
          results.map((r, i) => (i === (holder === 'job-x' ? 0 : 1) ? r : r.replace(/^refused: .*by job (\S+);.*$/, 'refused by $1'))),
          holder === 'job-x' ? ['claimed', `refused by ${holder}`] : [`refused by ${holder}`, 'claimed'],
          `round ${round}: ${loser} must be refused naming ${holder}`,
        );
      }
    });
  });
}

describe('catalog on PostgreSQL: the store itself', () => {
  it('processes opening a fresh database at once create the schema once and agree on one cluster', async function () {
    this.timeout(60_000);
    const url = await postgres().createDatabase(`fresh_${randomUUID().slice(0, 8)}`);
    const t = { env: { TASKSD_DATA: suite().scratch, TASKSD_CATALOG: url } } as TestCluster;
    const ids = await race(t, [['open'], ['open'], ['open'], ['open']]);
    assert.equal(new Set(ids).size, 1, `one cluster id: ${JSON.stringify(ids)}`);
    const catalog = await openCatalog(catalogLocation(suite().scratch, url));
    try {
      assert.equal(catalog.clusterId, ids[0]);
    } finally {
      await catalog.close();
    }
  });

  it('a bad URL, an unknown database or a wrong password: every command and the worker exit at once with one line, never the password', async function () {
    this.timeout(60_000);
    const good = new URL(await postgres().createDatabase(`known_${randomUUID().slice(0, 8)}`));
    const secret = decodeURIComponent(good.password);
    const wrongPassword = new URL(good);
    wrongPassword.password = 'not-the-password-s3cr3t';
    const unknownDb = new URL(good);
    unknownDb.pathname = '/no_such_database';
    const cases: Array<[string, RegExp]> = [
      ['mysql://root:hunter2@127.0.0.1/x', /^tasksd: TASKSD_CATALOG is not valid: use sqlite:PATH or a postgres:\/\/user:password@host:port\/database URL/],
      [unknownDb.toString(), /^tasksd: cannot open the catalog at postgres:\/\/tasksd@127\.0\.0\.1:\d+\/no_such_database: the database does not exist/],
      [wrongPassword.toString(), /^tasksd: cannot open the catalog at postgres:\/\/tasksd@127\.0\.0\.1:\d+\/known_\w+: the server refused the user or password/],
      [`postgres://tasksd:${encodeURIComponent(secret)}@127.0.0.1:1/x`, /^tasksd: cannot open the catalog at postgres:\/\/tasksd@127\.0\.0\.1:1\/x: nothing answers there/],
    ];
    const dataRoot = fs.mkdtempSync(path.join(suite().scratch, 'bad-catalog-'));
    for (const [catalogUrl, pattern] of cases) {
      for (const args of [['nodes'], ['shards', '--json'], ['node', 'add', 'node-a']]) {
        const started = Date.now();
        const run = await tasksd(args, { TASKSD_DATA: dataRoot, TASKSD_CATALOG: catalogUrl });
        assert.notEqual(run.code, 0, `${args.join(' ')} against ${catalogUrl}`);
        assert.match(run.stderr, /^tasksd: [^\n]+\n$/, 'exactly one line');
        assert.match(run.stderr, pattern);
        for (const hidden of [secret, 'not-the-password-s3cr3t', 'hunter2']) assert.ok(!run.stderr.includes(hidden), `the password is not printed: ${run.stderr}`);
        assert.ok(Date.now() - started < 15_000, 'at once, not after retries');
      }
    }
    assert.deepEqual(fs.readdirSync(dataRoot), [], 'nothing created');
    const worker = await startWorkerProcess({ address: suite().server.address, dataRoot, catalog: wrongPassword.toString(), taskQueue: 'bad-catalog' }).then(
      () => assert.fail('the worker started against a refused catalog'),
      (err: Error) => err.message,
    );
    assert.match(worker, /tasksd worker: cannot open the catalog at postgres:\/\/tasksd@127\.0\.0\.1:\d+\/known_\w+: the server refused the user or password/);
    assert.ok(!worker.includes('not-the-password-s3cr3t'));
  });
});

describe('tasksd catalog copy and a PostgreSQL cluster', function () {
  this.timeout(180_000);

  it('copies a SQLite catalog into PostgreSQL, idempotently; the same commands then work there, with no catalog.db', async () => {
    const t = await makeCluster({ catalog: 'sqlite' });
    try {
      await seedShard(t, 'acme', 'one', 'node-a', 20);
      await seedShard(t, 'acme', 'two', 'node-b', 5);
      const url = await postgres().createDatabase(`copy_${randomUUID().slice(0, 8)}`);
      const copied = await tasksd(['catalog', 'copy', '--to', url, '--json'], t.env);
      assert.equal(copied.code, 0, copied.stderr);
      const result = JSON.parse(copied.stdout);
      assert.deepEqual([result.cluster, result.nodes, result.shards, result.changed > 0], [t.cluster.catalog.clusterId, 2, 2, true]);
      assert.ok(!copied.stdout.includes(new URL(url).password), 'the password is not printed');
      const again = await tasksd(['catalog', 'copy', '--to', url], t.env);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^already copied: cluster c-[0-9a-f]{12} \(2 nodes, 2 shards\)/);

      // The same listing through PostgreSQL, after removing the SQLite catalog altogether
      // (each served, as `npm start` would, since the listing comes from the nodes' agents).
      const sqliteListing = JSON.parse((await withWorker(t, () => tasksd(['shards', '--json'], t.env))).stdout);
      await t.close();
      for (const f of fs.readdirSync(t.root).filter((f) => f.startsWith('catalog.db'))) fs.rmSync(path.join(t.root, f));
      const pgEnv = { TASKSD_DATA: t.root, TASKSD_CATALOG: url };
      const pg = await Cluster.open(t.root, { catalog: url });
      const serving = await startEmbeddedCluster({
        cluster: pg,
        connection: suite().workerConnection,
        client: suite().client,
        taskQueue: `copied-${randomUUID()}`,
        workflowBundle: suite().bundle,
        token: clusterToken(t.root),
      });
      try {
        const pgListing = await tasksd(['shards', '--json'], pgEnv);
        assert.equal(pgListing.code, 0, pgListing.stderr);
        assert.deepEqual(JSON.parse(pgListing.stdout), sqliteListing);
        const put = await tasksd(['put', '--org', 'acme', '--namespace', 'one', '--id', 'via-pg', '--title', 'written'], pgEnv);
        assert.equal(put.code, 0, put.stderr);
      } finally {
        await serving.stop();
        await pg.close();
      }
      assert.deepEqual(fs.readdirSync(t.root).filter((f) => f.startsWith('catalog.db')), [], 'no catalog.db with TASKSD_CATALOG=postgres://');

      // Another cluster's catalog is not overwritten.
      const other = await makeCluster({ catalog: 'sqlite' });
      try {
        const refused = await tasksd(['catalog', 'copy', '--to', url], other.env);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /^tasksd: the catalog at postgres:\/\/tasksd@127\.0\.0\.1:\d+\/copy_\w+ holds another cluster \(c-[0-9a-f]{12}, 2 nodes, 2 shards\); refusing to overwrite it with cluster c-[0-9a-f]{12}: use an empty database\n$/);
      } finally {
        await other.close();
      }
    } finally {
      await t.close().catch(() => undefined);
    }
  });

  it('a move with PostgreSQL stopped for ten seconds during its copy ends released, owned by the destination, unclaimed', async () => {
    const t = await makeCluster({ catalog: 'postgres' });
    const taskQueue = `pg-outage-${randomUUID()}`;
    const worker = await startWorkerProcess({
      address: suite().server.address,
      dataRoot: t.root,
      catalog: t.env.TASKSD_CATALOG,
      taskQueue,
      extra: { TASKSD_FAULTS: '1', TASKSD_TEST_COPY_BYTES_PER_SEC: String(512 * 1024) },
    });
    try {
      await seedShard(t, 'acme', 'default', 'node-a', 1500, 2048); // ~3.5 MiB: several seconds of copying
      const migrations = new MigrationClient(suite().client, taskQueue, undefined, t.cluster.catalog.clusterId);
      const id = await migrations.start({ org: 'acme', ns: 'default', to: 'node-b' });
      for await (const snap of migrations.watch(id, 100)) if ((snap.progress?.bytesCopied ?? 0) > 0) break;
      await postgres().stopServer();
      try {
        await waitForOutput(worker, /waiting for the catalog at postgres:\/\/tasksd@127\.0\.0\.1:\d+\/\w+/);
        await new Promise((resolve) => setTimeout(resolve, 10_000)); // the outage itself: ten seconds down
      } finally {
        await postgres().startServer();
      }
      const job = await migrations.result(id);
      assert.equal(job.status, 'released', job.error);
      const shard = await t.cluster.catalog.shard('acme', 'default');
      assert.deepEqual([shard.owner, shard.jobId, shard.epoch], ['node-b', null, 2]);
      assert.equal((await t.cluster.listShards())[0].rows, 1500);
      assert.ok(!worker.output().includes(new URL(t.env.TASKSD_CATALOG!).password), 'the worker never prints the password');
    } finally {
      await worker.kill();
      await t.close();
    }
  });
});
