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

  for (const strategy of ['by-count', 'by-size'] as const) {
    it(`rebalances ${strategy} after an empty node is added: the threshold is met, the plan's loads are the catalog's`, async () => {
      t = await makeCluster({ nodes: ['node-a', 'node-b', 'node-c'] });
      await seed({ 'node-a': 4, 'node-b': 4, 'node-c': 4 });
      await t.cluster.addNode('node-d');
      const job = await withWorker(t, async (m) => {
        const fleet = new FleetClient(m);
        const started = await fleet.start({ kind: 'rebalance', strategy, threshold: 0.1, concurrency: 4, maxOutgoing: 2, maxIncoming: 2 });
        return fleet.result(started.id);
      });
      assert.equal(job.status, 'finished');
      assert.equal(job.plan?.reached, true, job.plan?.unreached);
      assert.deepEqual([job.moved.moves, job.failed.length], [3, 0]);
      assert.deepEqual(await owners(), { 'node-a': 3, 'node-b': 3, 'node-c': 3, 'node-d': 3 });
      assert.deepEqual(
        job.plan?.load.map((l) => [l.node, l.before.shards, l.after.shards]),
        [['node-a', 4, 3], ['node-b', 4, 3], ['node-c', 4, 3], ['node-d', 0, 3]],
      );
      await assertIntact();
    });
  }

  it('pause, resume, a concurrency change and cancel do what they say; cancel leaves nothing locked or claimed', async () => {
    t = await makeCluster({ nodes: ['node-a', 'node-b', 'node-c'] });
    const rows = 100;
    const names = await seed({ 'node-a': 16 }, rows, 1024);
    const { job, children } = await withWorker(
      t,
      async (m) => {
        const fleet = new FleetClient(m);
        const started = await fleet.start({ kind: 'drain', node: 'node-a', concurrency: 1, maxOutgoing: 4, maxIncoming: 4 });
        const status = () => fleet.get(started.id) as Promise<FleetJob>;
        await eventually('a first move to finish', async () => ((await status()).moved.moves >= 1 ? true : undefined));

        await assert.rejects(fleet.setConcurrency(started.id, 0), /concurrency must be a whole number from 1 to 64/);
        assert.equal((await fleet.setConcurrency(started.id, 3)).concurrency, 3);
        await eventually('three moves at once', async () => ((await status()).running.length === 3 ? true : undefined));

        assert.equal((await fleet.pause(started.id)).status, 'paused');
        const paused = await eventually('the running moves to finish', async () => {
          const now = await status();
          return now.running.length === 0 ? now : undefined;
        });
        // Nothing starts while paused: a while later, the same moves are done and none runs.
        await new Promise((resolve) => setTimeout(resolve, 2000));
        const still = await status();
        assert.deepEqual([still.status, still.running.length, still.moved.moves], ['paused', 0, paused.moved.moves]);

        assert.equal((await fleet.resume(started.id)).status, 'running');
        await eventually('moves again', async () => {
          const now = await status();
          return now.moved.moves > paused.moved.moves && now.running.length > 0 ? true : undefined;
        });
        const cancelling = await fleet.cancel(started.id);
        assert.ok(['cancelling', 'cancelled'].includes(cancelling.status), cancelling.status);
        const final = await fleet.result(started.id);
        await assert.rejects(fleet.pause(started.id), /already ended \(cancelled/);
        return { job: final, children: await childJobs(m, final, names) };
      },
      // About a second per move: a pause and a cancel land while moves run.
      { copyBytesPerSecond: 128 * 1024 },
    );
    assert.equal(job.status, 'cancelled');
    assert.ok(job.remaining > 0, 'moves that had not started never did');
    const rolledBack = children.filter((c) => c.status === 'failed');
    assert.ok(rolledBack.length > 0, 'running moves were cancelled');
    // Cancelled mid-move (rolled back), or before the move claimed its shard (nothing to undo).
    assert.ok(rolledBack.every((c) => /cancel/i.test(c.error ?? '')), JSON.stringify(rolledBack.map((c) => c.error)));
    assert.equal(job.failed.length, rolledBack.length);
    assert.ok(job.failed.every((f) => f.errorType === 'Cancelled' && f.attempts === 1), JSON.stringify(job.failed));
    assert.equal(job.moved.moves, children.filter((c) => c.status === 'released').length);
    assert.ok((peakOverlap(children).get('all') ?? 0) <= 3, 'never more than the concurrency');
    const counts = await owners();
    assert.equal(counts['node-a'], 16 - job.moved.moves);
    await assertIntact(rows);
  });
});
