// The planner on its own (fleet/plan.ts): pure functions over an inventory, no server.
import { strict as assert } from 'node:assert';
import type { Inventory } from '../fleet/inventory';
import { makePlan } from '../fleet/plan';

const MiB = 1024 * 1024;

function inventory(nodes: Array<[string, boolean?]>, shards: Array<[string, string, number | null, string?]>): Inventory {
  return {
    nodes: nodes.map(([id, cordoned = false]) => ({ id, cordoned })),
    shards: shards.map(([ns, owner, bytes, claimedBy]) => ({ org: 'acme', ns, owner, bytes, claimedBy: claimedBy ?? null })),
  };
}

describe('fleet planner', () => {
  it('a drain sends the largest shards first to the least loaded nodes, never to a cordoned one', () => {
    const plan = makePlan(
      inventory([['a'], ['b'], ['c', true], ['d']], [['x', 'a', 5 * MiB], ['y', 'a', 3 * MiB], ['z', 'a', 1 * MiB], ['w', 'b', 2 * MiB]]),
      { kind: 'drain', node: 'a' },
    );
    assert.deepEqual(plan.moves.map((m) => `${m.ns}:${m.to}`), ['x:d', 'y:b', 'z:d']);
    assert.equal(plan.reached, true);
    assert.deepEqual(plan.load.find((l) => l.node === 'a')?.after, { shards: 0, bytes: 0 });
    assert.match(plan.notes.join('\n'), /node a is not cordoned/);
  });

  it('a rebalance that cannot reach the threshold says why', () => {
    // One 10 MiB shard against two small ones: moving it would only shift the imbalance.
    const plan = makePlan(inventory([['a'], ['b']], [['big', 'a', 10 * MiB], ['s1', 'b', MiB], ['s2', 'b', MiB]]), { kind: 'rebalance', threshold: 0.1 });
    assert.deepEqual(plan.moves, []);
    assert.equal(plan.reached, false);
    assert.match(
      plan.unreached ?? '',
      /^node (a|b) stays 67 % (above|below) the mean of 6\.0 MiB \(threshold 10 %\): each shard node a could give \(the smallest: 10\.0 MiB\) is at least the gap to node b \(8\.0 MiB\), so moving it would only shift the imbalance$/,
    );
  });

  it('a rebalance leaves excluded, claimed and unreadable shards where they are, and says so', () => {
    const plan = makePlan(
      inventory([['a'], ['b']], [['e', 'a', MiB], ['c', 'a', MiB, 'job-1'], ['u', 'a', null], ['m', 'a', MiB]]),
      { kind: 'rebalance', strategy: 'by-count', exclude: ['acme/e'] },
    );
    assert.deepEqual(plan.moves.map((m) => m.ns), ['m']);
    assert.match(plan.notes.join('\n'), /--exclude\): acme\/e[\s\S]*another job, left alone: acme\/c \(job job-1\)[\s\S]*could not read their file.*acme\/u/);
    assert.equal(plan.reached, false);
    assert.match(plan.unreached ?? '', /node a \(3 shard\(s\)\) has no shard left that may move/);
  });

  it('refuses a drain nothing can take, and a drain of an unknown node', () => {
    assert.throws(() => makePlan(inventory([['a'], ['b', true]], [['x', 'a', 1]]), { kind: 'drain', node: 'a' }), { name: 'NoDestination' });
    assert.throws(() => makePlan(inventory([['a']], []), { kind: 'drain', node: 'q' }), { name: 'UnknownNode' });
  });
});
