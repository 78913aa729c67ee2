// The fleet surface of `tasksd` as operators run it: cordon, plans (on both catalog
// drivers), drain --wait, fleet list/show and the controls, and bad input refused with
// one line and nothing changed.
import { strict as assert } from 'node:assert';
import type { NodeRecord } from '../catalog/catalog';
import type { FleetJob, Plan } from '../fleet/types';
import { CATALOG_DRIVERS, makeCluster, seedShard, withWorker, type CatalogDriver, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';
import { tasksd as run, type Run } from './support/run';

describe('tasksd fleet commands', function () {
  this.timeout(120_000);
  let t: TestCluster;
  afterEach(() => t?.close());

  const tasksd = (args: string[], taskQueue = 'fleet-cli-no-worker') => run(args, { ...t.env, TEMPORAL_ADDRESS: suite().server.address, TASKSD_TASK_QUEUE: taskQueue });

  async function json<T>(args: string[], taskQueue?: string): Promise<T> {
    const result = await tasksd([...args, '--json'], taskQueue);
    assert.equal(result.code, 0, `tasksd ${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  function assertFails(result: Run, code: number, pattern: RegExp): void {
    assert.equal(result.code, code, `exit status (stderr: ${result.stderr})`);
    assert.match(result.stderr, /^tasksd: [^\n]+\n$/, 'exactly one line on stderr');
    assert.match(result.stderr, pattern);
  }

  const catalogState = async () => ({
    nodes: await t.cluster.catalog.listNodes(),
    shards: await t.cluster.catalog.listShards(),
  });

  for (const driver of CATALOG_DRIVERS as CatalogDriver[]) {
    it(`cordons a node, plans around it and refuses moves to it (${driver} catalog)`, async () => {
      t = await makeCluster({ nodes: ['node-a', 'node-b', 'node-c'], catalog: driver });
      for (let i = 0; i < 6; i++) await seedShard(t, 'acme', `s${i}`, 'node-a', 3 + i * 20, 256);
      await withWorker(t, async (_m, queue) => {
        const cordoned = await json<NodeRecord>(['node', 'cordon', 'node-c']);
        assert.deepEqual([cordoned.id, cordoned.cordoned], ['node-c', true]);
        assert.deepEqual((await json<NodeRecord[]>(['nodes'])).map((n) => [n.id, n.cordoned]), [['node-a', false], ['node-b', false], ['node-c', true]]);

        const before = await catalogState();
        const plan = await json<Plan>(['plan', 'drain', 'node-a', '--exclude', 'acme/s0']);
        assert.equal(plan.moves.length, 5);
        assert.ok(plan.moves.every((m) => m.from === 'node-a' && m.to === 'node-b'), 'a cordoned node is never a target');
        assert.deepEqual(plan.moves.map((m) => m.ns), ['s5', 's4', 's3', 's2', 's1'], 'largest first');
        assert.equal(plan.reached, false);
        assert.match(plan.unreached ?? '', /^1 shard\(s\) stay on node-a: left where they are \(--exclude\): acme\/s0$/);
        assert.deepEqual(plan.load.map((l) => [l.node, l.before.shards, l.after.shards, l.cordoned]), [['node-a', 6, 1, false], ['node-b', 0, 5, false], ['node-c', 0, 0, true]]);
        const table = await tasksd(['plan', 'rebalance', '--strategy', 'by-count']);
        assert.equal(table.code, 0, table.stderr);
        assert.match(table.stdout, /^plan: rebalance by-count, threshold 0\.1: 3 move\(s\)/);
        assert.match(table.stdout, /node-c +│ 0 -> 0 .*cordoned/);
        assert.match(table.stdout, /note: node node-c is cordoned: it takes no shards/);
        assert.deepEqual(await catalogState(), before, 'planning changes nothing');

        assertFails(await tasksd(['migrate', '--org', 'acme', '--ns', 's1', '--to', 'node-c'], queue), 1, /node node-c is cordoned: it takes no new shards; pick another node, or take the cordon off with "tasksd node uncordon node-c"/);
        assert.deepEqual(await catalogState(), before, 'a refused move changes nothing');
        assert.equal((await json<NodeRecord>(['node', 'uncordon', 'node-c'])).cordoned, false);
        assert.ok((await json<Plan>(['plan', 'drain', 'node-a'])).moves.some((m) => m.to === 'node-c'));
      });
    });
  }

  it('drain --wait empties the node; fleet list, show and the controls read it back', async () => {
    t = await makeCluster({ nodes: ['node-a', 'node-b', 'node-c'] });
    for (let i = 0; i < 6; i++) await seedShard(t, 'acme', `s${i}`, 'node-a', 5);
    await withWorker(t, async (_m, queue) => {
      const job = await json<FleetJob>(['drain', 'node-a', '--concurrency', '2', '--max-outgoing', '2', '--wait'], queue);
      assert.deepEqual([job.status, job.moved.moves, job.failed.length, job.plan?.moveCount], ['finished', 6, 0, 6]);
      assert.deepEqual((await t.cluster.catalog.listShards()).filter((s) => s.owner === 'node-a'), []);
      const listed = await json<FleetJob[]>(['fleet', 'list'], queue);
      assert.deepEqual(listed.map((j) => [j.id, j.status]), [[job.id, 'finished']]);
      const shown = await tasksd(['fleet', 'show', job.id], queue);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /progress: +moved 6 of 6 .* failed 0, remaining 0/);
      assert.match(shown.stdout, /goal reached: node node-a ends empty/);
      assertFails(await tasksd(['fleet', 'pause', job.id], queue), 1, new RegExp(`fleet job ${job.id} already ended \\(finished`));
      assertFails(await tasksd(['fleet', 'show', 'fleet-nope'], queue), 1, /unknown fleet job fleet-nope/);

      // Nothing left to drain, and every other node cordoned: refused, nothing started.
      await seedShard(t, 'acme', 'late', 'node-b', 2);
      await json(['node', 'cordon', 'node-a']);
      await json(['node', 'cordon', 'node-c']);
      assertFails(await tasksd(['drain', 'node-b'], queue), 1, /no node can take node node-b's 4 shard\(s\): every other node is cordoned/);
      assert.equal((await json<FleetJob[]>(['fleet', 'list'], queue)).filter((j) => j.status !== 'failed').length, 1);
    });
  });

  it('refuses bad input with exit 2 and one line, changing nothing', async () => {
    t = await makeCluster();
    await seedShard(t, 'acme', 'one', 'node-a', 2);
    const before = await catalogState();
    const cases: Array<[string[], RegExp]> = [
      [['plan', 'drain', 'Node!'], /node "Node!" is not valid/],
      [['plan', 'rebalance', '--threshold', '2'], /--threshold must be a fraction from 0 to 1/],
      [['plan', 'rebalance', '--strategy', 'by-mood'], /Allowed choices are by-size, by-count/],
      [['plan', 'drain', 'node-a', '--exclude', 'acme'], /--exclude "acme" is not valid: write the shard as org\/ns/],
      [['drain', 'node-a', '--concurrency', '0'], /--concurrency must be a whole number >= 1/],
      [['rebalance', '--max-incoming', '65'], /--max-incoming must be a whole number from 1 to 64/],
      [['node', 'cordon', '../x'], /node "\.\.\/x" is not valid/],
    ];
    const runs = await Promise.all(cases.map(([args]) => tasksd(args)));
    runs.forEach((result, i) => assertFails(result, 2, cases[i][1]));
    assertFails(await tasksd(['node', 'cordon', 'node-z']), 1, /unknown node node-z/);
    assert.deepEqual(await catalogState(), before);
  });
});
