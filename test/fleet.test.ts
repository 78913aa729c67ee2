// Fleet jobs through a real Temporal server and real shard files: a drain and a
// rebalance run as one parent workflow with a child migrateShard per move; the per-node
// limits hold (from the children's own start and end times); pause, resume, a
// concurrency change and cancel do what they say. Runs on the suite's catalog driver
// (TASKSD_TEST_CATALOG=postgres in `npm run test:postgres`).
import { strict as assert } from 'node:assert';
import type { MigrationClient } from '../client';
import type { Job } from '../common/job';
import { FleetKind, FleetNode, FleetStatus } from '../common/search-attributes';
import { FleetClient } from '../fleet/client';
import type { FleetJob, FleetRequest } from '../fleet/types';
import { eventually } from './support/eventually';
import { makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';

const ROWS = 5;

describe('fleet jobs (drain, rebalance)', function () {
  this.timeout(180_000);
  let t: TestCluster;
  afterEach(() => t?.close());

  async function seed(counts: Record<string, number>, rows = ROWS, bodyBytes = 0): Promise<string[]> {
    const names: string[] = [];
    for (const [node, n] of Object.entries(counts)) {
      for (let i = 0; i < n; i++) {
        const ns = `${node.slice(-1)}${String(i).padStart(3, '0')}`;
        await seedShard(t, 'fleet', ns, node, rows, bodyBytes);
        names.push(`fleet/${ns}`);
      }
    }
    return names;
  }

  async function owners(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const s of await t.cluster.catalog.listShards()) counts[s.owner] = (counts[s.owner] ?? 0) + 1;
    return counts;
  }

  /** Every shard has one owner, is unclaimed, unlocked and holds its rows. */
  async function assertIntact(rows = ROWS): Promise<void> {
    for (const s of await t.cluster.listShards()) {
      assert.ok(!('error' in s), `${s.org}/${s.ns}: ${'error' in s ? s.error : ''}`);
      assert.deepEqual([s.claimedBy, s.lockedBy, s.rows], [null, null, rows], `${s.org}/${s.ns} on ${s.owner}`);
      assert.equal((await t.cluster.getTask(s.org, s.ns, `t${String(rows - 1).padStart(5, '0')}`))?.title, `task ${rows - 1}`);
    }
  }

  /** The children's own records: when each move started and ended, by its Job. */
  async function childJobs(m: MigrationClient, job: FleetJob, names: string[]): Promise<Job[]> {
    const jobs: Job[] = [];
    for (const name of names) {
      const id = `${job.id}.${name.replace('/', '.')}`;
      const found = await m.get(id);
      if (found) jobs.push(found);
    }
    return jobs;
  }

  /** The most moves that overlapped in time, in all and per node, by the children's start and end times. */
  function peakOverlap(jobs: Job[], key: (j: Job) => string = () => 'all'): Map<string, number> {
    const peaks = new Map<string, number>();
    for (const j of jobs) {
      const at = Date.parse(j.startedAt);
      const overlapping = jobs.filter((o) => key(o) === key(j) && Date.parse(o.startedAt) <= at && at < Date.parse(o.finishedAt!));
      peaks.set(key(j), Math.max(peaks.get(key(j)) ?? 0, overlapping.length));
    }
    return peaks;
  }

  it('drains a node holding 40 shards: it ends empty, every row intact, limits never exceeded, history bounded', async () => {
    t = await makeCluster({ nodes: ['node-a', 'node-b', 'node-c', 'node-d'] });
    const names = await seed({ 'node-a': 40 });
    const started = Date.now();
    const { job, children, runs } = await withWorker(t, async (m) => {
      const fleet = new FleetClient(m);
      const request: FleetRequest = { kind: 'drain', node: 'node-a', concurrency: 4, maxOutgoing: 3, maxIncoming: 1, movesPerRun: 10 };
      const first = await fleet.start(request);
      assert.equal(first.plan?.moveCount, 40);
      assert.equal(first.plan?.reached, true);
      const final = await fleet.result(first.id);
      const description = await suite().client.workflow.getHandle(first.id).describe();
      const sa = description.typedSearchAttributes;
      assert.deepEqual([sa.get(FleetKind), sa.get(FleetNode), sa.get(FleetStatus)], ['drain', 'node-a', 'finished']);
      // Each run continued as new after 10 moves: the last run is not the first.
      return { job: final, children: await childJobs(m, final, names), runs: description.runId !== description.raw.workflowExecutionInfo?.firstRunId };
    });
    console.log(`      40-shard drain, 3 at once: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(job.status, 'finished');
    assert.deepEqual([job.moved.moves, job.skipped.length, job.failed.length, job.remaining], [40, 0, 0, 0]);
    assert.ok(runs, 'the job continued as new');
    assert.deepEqual(await owners(), { 'node-b': 14, 'node-c': 13, 'node-d': 13 });
    await assertIntact();

    assert.equal(children.length, 40, 'one child per shard, none twice');
    assert.ok(children.every((c) => c.status === 'released' && c.from === 'node-a'));
    assert.ok((peakOverlap(children).get('all') ?? 0) <= 3, 'at most 3 out of node-a at once');
    for (const [node, peak] of peakOverlap(children, (c) => c.to)) assert.ok(peak <= 1, `${node} took ${peak} at once`);
    assert.ok((peakOverlap(children).get('all') ?? 0) >= 2, 'moves did run side by side');
  });
});
