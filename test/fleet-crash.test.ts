// A fleet job survives its worker: SIGKILL the process running the parent workflow, its
// children and the embedded agents mid-plan, start another, and the job ends with every
// shard moved exactly once (one child per shard, no retry), every row intact, nothing
// locked or claimed.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { MigrationClient } from '../client';
import { WORKFLOW_TYPE } from '../common/names';
import { FleetClient } from '../fleet/client';
import { eventually } from './support/eventually';
import { Faults } from './support/faults';
import { makeCluster, seedShard, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process';

const SHARDS = 12;
const ROWS = 200;

describe('fleet job crash safety (real processes, SIGKILL)', function () {
  this.timeout(240_000);
  let t: TestCluster;
  let workers: WorkerProcess[];
  let faults: Faults;
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await t.close();
    faults.cleanup();
  });

  it('resumes a drain after the worker is killed mid-plan, moving no shard twice', async () => {
    t = await makeCluster({ nodes: ['node-a', 'node-b', 'node-c'] });
    workers = [];
    faults = new Faults();
    const org = `crash-${randomUUID().slice(0, 8)}`;
    for (let i = 0; i < SHARDS; i++) await seedShard(t, org, `s${i}`, 'node-a', ROWS, 1024);
    const taskQueue = `fleet-crash-${randomUUID()}`;
    const worker = async (extra: NodeJS.ProcessEnv = {}) => {
      const w = await startWorkerProcess({ address: suite().server.address, dataRoot: t.root, catalog: t.env.TASKSD_CATALOG, taskQueue, extra });
      workers.push(w);
      return w;
    };
    const migrations = new MigrationClient(suite().client, taskQueue, undefined, t.cluster.catalog.clusterId);
    const fleet = new FleetClient(migrations);

    // Slow copies (about a second a move), so the kill lands with moves in flight.
    const first = await worker(faults.env({ TASKSD_TEST_COPY_BYTES_PER_SEC: String(200 * 1024) }));
    const started = await fleet.start({ kind: 'drain', node: 'node-a', concurrency: 2, maxOutgoing: 2, maxIncoming: 1, movesPerRun: 5 });
    await eventually('a few moves done and two running', async () => {
      const now = await fleet.get(started.id);
      return now && now.moved.moves >= 3 && now.running.length === 2 ? true : undefined;
    }, 120_000);
    await first.kill();
    await worker();
    const job = await fleet.result(started.id);

    assert.equal(job.status, 'finished');
    assert.deepEqual([job.moved.moves, job.skipped.length, job.failed.length, job.toRetry.length], [SHARDS, 0, 0, 0]);
    const counts: Record<string, number> = {};
    for (const s of await t.cluster.listShards()) {
      assert.ok(!('error' in s), JSON.stringify(s));
      assert.deepEqual([s.claimedBy, s.lockedBy, s.rows], [null, null, ROWS], `${s.ns}`);
      counts[s.owner] = (counts[s.owner] ?? 0) + 1;
    }
    assert.deepEqual(counts, { 'node-b': SHARDS / 2, 'node-c': SHARDS / 2 });
    // Exactly one move per shard ever started, by this job.
    const moves = await eventually(`${SHARDS} moves in visibility`, async () => {
      const ids: string[] = [];
      for await (const w of suite().client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPE}' AND MigrationOrg = '${org}'` })) ids.push(w.workflowId);
      return ids.length >= SHARDS ? ids : undefined;
    });
    assert.deepEqual(moves.sort(), Array.from({ length: SHARDS }, (_, i) => `${started.id}.${org}.s${i}`).sort());
  });
});
