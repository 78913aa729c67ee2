// Rebalance: moves shards from the most loaded node to the least loaded one until every
// node that takes shards is within `threshold` of the mean (a fraction: 0.1 is ±10 %),
// by bytes (by-size) or by number of shards (by-count). Each step picks the shard that
// best evens out that pair and only ever narrows the gap, so the plan ends; each shard
// moves at most once. Cordoned nodes neither give nor take. When no step can narrow the
// gap any more, the plan says why the threshold is out of reach.
import { formatBytes } from '../cli/output';
import { ErrorType, TasksdError } from '../common/errors';
import type { PlannedMove } from '../catalog/catalog';
import type { Inventory } from './inventory';
import { Ledger, weight } from './ledger';
import { largestFirst, sortOut } from './movable';
import type { Plan, Strategy } from './types';

export function planRebalance(inventory: Inventory, strategy: Strategy, threshold: number, exclude: string[] = []): Plan {
  const eligible = inventory.nodes.filter((n) => !n.cordoned).map((n) => n.id);
  if (eligible.length === 0) {
    throw new TasksdError(ErrorType.NoDestination, 'no node takes shards: every node is cordoned; uncordon one with "tasksd node uncordon <id>"');
  }
  const notes: string[] = [];
  for (const node of inventory.nodes.filter((n) => n.cordoned)) {
    const held = inventory.shards.filter((s) => s.owner === node.id).length;
    notes.push(`node ${node.id} is cordoned: it takes no shards${held ? ` and its ${held} shard(s) stay (drain it to move them)` : ''}`);
  }
  const sorted = sortOut(inventory.shards.filter((s) => eligible.includes(s.owner)), exclude);
  notes.push(...sorted.notes);
  const waiting = new Map(eligible.map((id) => [id, largestFirst(sorted.movable.filter((s) => s.owner === id))]));
  const ledger = new Ledger(inventory);
  const moves: PlannedMove[] = [];
  const measure = (n: number) => (strategy === 'by-size' ? formatBytes(n) : `${n} shard(s)`);
  let unreached: string | undefined;
  for (;;) {
    const loads = eligible.map((id) => ({ id, load: ledger.load(id, strategy) }));
    const total = loads.reduce((s, l) => s + l.load, 0);
    const mean = total / eligible.length;
    const off = (load: number) => Math.abs(load - mean) > threshold * mean;
    if (!loads.some((l) => off(l.load))) break;
    const byLoad = [...loads].sort((a, b) => a.load - b.load || a.id.localeCompare(b.id));
    const [dst, src] = [byLoad[0], byLoad[byLoad.length - 1]];
    const gap = src.load - dst.load;
    const candidates = waiting.get(src.id)!;
    // The shard that leaves the pair most even; only ones lighter than the gap narrow it.
    let best = -1;
    candidates.forEach((shard, i) => {
      const w = weight(shard, strategy);
      if (w <= 0 || w >= gap) return;
      if (best < 0 || Math.abs(gap - 2 * w) < Math.abs(gap - 2 * weight(candidates[best], strategy))) best = i;
    });
    if (best < 0) {
      const pct = (load: number) => `${Math.round((Math.abs(load - mean) / (mean || 1)) * 100)} %`;
      const worst = [...loads].sort((a, b) => Math.abs(b.load - mean) - Math.abs(a.load - mean))[0];
      const cause =
        candidates.length === 0
          ? `node ${src.id} (${measure(src.load)}) has no shard left that may move (excluded, claimed, unreadable, or moved once already in this plan)`
          : `each shard node ${src.id} could give (the smallest: ${measure(Math.min(...candidates.map((c) => weight(c, strategy))))}) ` +
            `is at least the gap to node ${dst.id} (${measure(gap)}), so moving it would only shift the imbalance`;
      unreached = `node ${worst.id} stays ${pct(worst.load)} ${worst.load > mean ? 'above' : 'below'} the mean of ${measure(Math.round(mean))} (threshold ${Math.round(threshold * 100)} %): ${cause}`;
      break;
    }
    const [shard] = candidates.splice(best, 1);
    const move = { org: shard.org, ns: shard.ns, from: src.id, to: dst.id, bytes: shard.bytes };
    ledger.apply(move);
    moves.push(move);
  }
  const plan: Plan = { kind: 'rebalance', strategy, threshold, moves, bytes: moves.reduce((s, m) => s + m.bytes, 0), load: ledger.rows(), reached: !unreached, notes };
  if (unreached) plan.unreached = unreached;
  return plan;
}
