// Crash safety with real processes and real signals: SIGKILL a worker (or the
// Temporal server) at each point of a migration, bring up another, and check that
// the job still ends in the spec's invariants.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { MigrationClient, type Job } from '../client';
import type { FaultPointName } from '../faults';
import { startDevServer } from '../temporal/dev-server';
import { filesOn, makeCluster, seedShard, type TestCluster } from './support/fixtures';
import { Faults } from './support/faults';
import { suite } from './support/root-hooks';
import { startWorkerProcess, waitForOutput, type WorkerProcess } from './support/worker-process';

const ROWS = 1500;
const ROW_BYTES = 2048; // ~3.5 MiB shard: a throttled copy takes a few seconds

describe('crash safety (real processes, SIGKILL)', function () {
  this.timeout(180_000);
  let t: TestCluster;
  let workers: WorkerProcess[];
  let taskQueue: string;
  let faults: Faults;

  beforeEach(async () => {
    t = await makeCluster();
    workers = [];
    faults = new Faults();
    taskQueue = `crash-${randomUUID()}`;
    await seedShard(t, 'acme', 'default', 'node-a', ROWS, ROW_BYTES);
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await t.close();
    faults.cleanup();
  });

  async function worker(extra: NodeJS.ProcessEnv = {}, address = suite().server.address): Promise<WorkerProcess> {
    const w = await startWorkerProcess({ address, dataRoot: t.root, catalog: t.env.TASKSD_CATALOG, taskQueue, extra });
    workers.push(w);
    return w;
  }

  async function assertMovedIntact(job: Job): Promise<void> {
    assert.equal(job.status, 'released', job.error);
    const [shard] = (await t.cluster.listShards());
    assert.deepEqual([shard.owner, shard.lockedBy, shard.rows], ['node-b', null, ROWS]);
    assert.equal((await t.cluster.catalog.shard('acme', 'default')).jobId, null, 'claim released');
    assert.equal((await t.cluster.getTask('acme', 'default', 't01499'))?.title, 'task 1499');
    assert.deepEqual(filesOn(t, 'node-a'), [], 'no source left on node-a');
    assert.deepEqual(filesOn(t, 'node-b'), ['acme.default.db'], 'no temp files on node-b');
  }

  const killPoints: Array<{ hold: FaultPointName; status: string }> = [
    { hold: 'lock:after', status: 'locking' },
    { hold: 'replay:before', status: 'replaying' },
    { hold: 'unlock:before', status: 'replaying' },
    { hold: 'unlock:after', status: 'replaying' },
  ];
  for (const { hold, status } of killPoints) {
    it(`finishes the move after the worker is killed at ${hold} (status ${status})`, async () => {
      const first = await worker(faults.env({ TASKSD_TEST_HOLD: hold }));
      const migrations = new MigrationClient(suite().client, taskQueue, undefined, t.cluster.catalog.clusterId);
      const id = await migrations.start({ org: 'acme', ns: 'default', to: 'node-b' });
      await faults.holding(first, hold);
      assert.equal((await migrations.get(id))?.status, status);
      await first.kill();
      await worker();
      assertMovedIntact(await migrations.result(id));
    });
  }

  it('resumes a copy from its heartbeat offset after the worker is killed mid-copy', async () => {
    const first = await worker(faults.env({ TASKSD_TEST_COPY_BYTES_PER_SEC: String(1024 * 1024) }));
    const migrations = new MigrationClient(suite().client, taskQueue, undefined, t.cluster.catalog.clusterId);
    const id = await migrations.start({ org: 'acme', ns: 'default', to: 'node-b' });
    for await (const snap of migrations.watch(id, 100)) {
      if (snap.status === 'copying' && (snap.progress?.bytesCopied ?? 0) > 0) break;
    }
    await first.kill();
    const second = await worker();
    const job = await migrations.result(id);
    await assertMovedIntact(job);
    assert.match(second.output(), /resuming copy of acme\/default at byte [1-9]\d*/);
  });

  it('the surviving worker finishes a job whose copying worker was killed', async () => {
    const slow = faults.env({ TASKSD_TEST_COPY_BYTES_PER_SEC: String(1024 * 1024) });
    const [a, b] = [await worker(slow), await worker(slow)];
    const migrations = new MigrationClient(suite().client, taskQueue, undefined, t.cluster.catalog.clusterId);
    const id = await migrations.start({ org: 'acme', ns: 'default', to: 'node-b' });
    let copier: string | undefined;
    for await (const snap of migrations.watch(id, 100)) {
      if (snap.status !== 'copying' || !snap.progress?.bytesCopied) continue;
      const description = await suite().client.workflow.getHandle(id).describe();
      copier = description.raw.pendingActivities?.[0]?.lastWorkerIdentity ?? undefined;
      if (copier) break;
    }
    const victim = [a, b].find((w) => copier?.startsWith(`${w.child.pid}@`));
    assert.ok(victim, `the copying worker ${copier} is one of ours`);
    await victim.kill();
    assertMovedIntact(await migrations.result(id));
  });

  it('when the coordinator whose agents the catalog names stops, the other serves its embedded nodes and moves go on', async () => {
    const staying = await worker();
    const stopping = await worker(); // started last: the catalog records its agents' addresses
    const addresses = async () => Object.fromEntries((await t.cluster.catalog.listNodes()).map((n) => [n.id, n.url]));
    const before = await addresses();
    for (const node of ['node-a', 'node-b']) assert.ok(stopping.output().includes(`serving node ${node} (`) && stopping.output().includes(`at ${before[node]},`), `${node} recorded at the second coordinator's agent`);
    assert.equal(await stopping.stop(), 0);
    for (const node of ['node-a', 'node-b']) await waitForOutput(staying, new RegExp(`node ${node}: ${before[node]} does not answer \\(its coordinator stopped\\); serving it at `));
    const after = await addresses();
    for (const node of ['node-a', 'node-b']) {
      assert.notEqual(after[node], before[node]);
      assert.ok(staying.output().includes(`serving node ${node} (`) && staying.output().includes(`at ${after[node]},`), `${node} now recorded at the remaining coordinator's agent`);
    }
    const migrations = new MigrationClient(suite().client, taskQueue, undefined, t.cluster.catalog.clusterId);
    await assertMovedIntact(await migrations.migrate({ org: 'acme', ns: 'default', to: 'node-b' }));
  });

  it('completes after the Temporal server is stopped and restarted mid-copy', async () => {
    const dbFile = path.join(t.root, 'temporal.db');
    let server = await startDevServer({ dbFile, headless: true });
    const connection = await Connection.connect({ address: server.address });
    try {
      await worker(faults.env({ TASKSD_TEST_COPY_BYTES_PER_SEC: String(1024 * 1024) }), server.address);
      const migrations = new MigrationClient(new Client({ connection }), taskQueue, undefined, t.cluster.catalog.clusterId);
      const id = await migrations.start({ org: 'acme', ns: 'default', to: 'node-b' });
      for await (const snap of migrations.watch(id, 100)) {
        if (snap.status === 'copying' && (snap.progress?.bytesCopied ?? 0) > 0) break;
      }
      await server.stop();
      server = await startDevServer({ dbFile, headless: true, port: server.port });
      assertMovedIntact(await migrations.result(id));
    } finally {
      await connection.close();
      await server.stop();
    }
  });
});
