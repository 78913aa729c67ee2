// Two clusters' workers on one task queue (an ordinary deployment mistake): each
// job is done by its own cluster's workers only, and an activity handed a job of
// another cluster refuses it before touching anything.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { MigrationClient } from '../client';
import { createCoordinatorActivities, createNodeActivities } from '../activities';
import { NodeStore } from '../agent/node-store';
import { SnapshotPins } from '../agent/snapshots';
import { jobLookup } from '../temporal/job-lookup';
import { filesOn, makeCluster, seedShard, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process';

const SHARDS = Array.from({ length: 15 }, (_, i) => `s${String(i).padStart(2, '0')}`);

describe('one cluster per job', function () {
  this.timeout(240_000);
  let real: TestCluster;
  let other: TestCluster;
  let workers: WorkerProcess[] = [];

  beforeEach(async () => {
    // Same node names, same shard names, different catalogs and files.
    [real, other] = [await makeCluster({ nodes: ['node-a', 'node-b', 'node-c'] }), await makeCluster({ nodes: ['node-a', 'node-b', 'node-c'] })];
    for (const t of [real, other]) for (const ns of SHARDS) await seedShard(t, 'fleet', ns, 'node-a', 20);
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    workers = [];
    await real.close();
    await other.close();
  });

  it('two workers with different data roots on one task queue: every move happens in the cluster it was started for', async () => {
    const taskQueue = `two-clusters-${randomUUID()}`;
    const address = suite().server.address;
    workers = await Promise.all([real, other].map((t) => startWorkerProcess({ address, dataRoot: t.root, catalog: t.env.TASKSD_CATALOG, taskQueue })));
    const migrations = new MigrationClient(suite().client, taskQueue, undefined, real.cluster.catalog.clusterId);
    const jobs = await Promise.all(SHARDS.map((ns) => migrations.migrate({ org: 'fleet', ns, to: 'node-c' })));
    for (const job of jobs) {
      assert.equal(job.status, 'released', `${job.ns}: ${job.error}`);
      assert.equal(job.cluster, real.cluster.catalog.clusterId);
    }
    for (const ns of SHARDS) {
      const shard = (await real.cluster.catalog.shard('fleet', ns));
      assert.deepEqual([ns, shard.owner, shard.jobId], [ns, 'node-c', null], 'the real catalog says node-c');
      assert.deepEqual([ns, (await other.cluster.catalog.shard('fleet', ns)).owner], [ns, 'node-a'], 'the other cluster is untouched');
    }
    assert.equal(filesOn(real, 'node-c').filter((f) => f.endsWith('.db')).length, SHARDS.length);
    assert.deepEqual(filesOn(other, 'node-c'), [], 'nothing copied in the other cluster');
    assert.equal((await other.cluster.listShards()).every((s) => s.lockedBy === null && s.rows === 20), true);
  });

  it('a step handed another cluster’s job, or another node’s, refuses it, naming both, and changes nothing', async () => {
    const coordinator = createCoordinatorActivities({ cluster: other.cluster, jobs: jobLookup(suite().client) });
    const env = new MockActivityEnvironment();
    const theirs = real.cluster.catalog.clusterId;
    const mine = other.cluster.catalog.clusterId;
    const request = { org: 'fleet', ns: 's00', to: 'node-b', cluster: theirs };
    await assert.rejects(env.run(coordinator.prepare, { jobId: 'stray-job', request }), (err: Error) => {
      assert.equal(err.name, 'ApplicationFailure');
      assert.match(err.message, new RegExp(`job stray-job is for cluster ${theirs}, but this worker serves cluster ${mine} .*not acting`));
      return true;
    });
    const ref = { jobId: 'stray-job', org: 'fleet', ns: 's00', from: 'node-a', to: 'node-b', mode: 'offline' as const, cluster: theirs };
    for (const step of [coordinator.claim, coordinator.handOff, coordinator.release]) {
      await assert.rejects(env.run(step, ref), /not acting, so a worker of that cluster can take it/);
    }
    // A node step routed to the wrong node (node-b's agent handed the source's lock).
    const store = new NodeStore(other.cluster, 'node-b');
    const pins = new SnapshotPins(store);
    try {
      const node = createNodeActivities({ store, pins, peer: () => Promise.reject(new Error('no peers here')) });
      await assert.rejects(env.run(node.lock, { ...ref, cluster: mine }), /node node-b got the lock step meant for node node-a of job stray-job; not acting/);
    } finally {
      await pins.close();
    }
    const shard = (await other.cluster.listShards())[0];
    assert.deepEqual([shard.owner, shard.lockedBy, (await other.cluster.catalog.shard('fleet', 's00')).jobId], ['node-a', null, null]);
    assert.deepEqual(filesOn(other, 'node-b'), []);
  });
});
