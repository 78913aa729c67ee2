// Drain: every shard of one node goes elsewhere, largest first, each to the node the
// plan has loaded least so far (by the strategy's measure). Cordoned nodes take none.
import { ErrorType, TasksdError } from '../common/errors';
import type { PlannedMove } from '../catalog/catalog';
import type { Inventory } from './inventory';
import { Ledger } from './ledger';
import { largestFirst, sortOut } from './movable';
import type { Plan, Strategy } from './types';

export function planDrain(inventory: Inventory, node: string, strategy: Strategy, exclude: string[] = []): Plan {
  const drained = inventory.nodes.find((n) => n.id === node);
  if (!drained) throw new TasksdError(ErrorType.UnknownNode, `unknown node ${node}: see "tasksd nodes"`);
  const targets = inventory.nodes.filter((n) => !n.cordoned && n.id !== node).map((n) => n.id);
  const { movable, notes, staying } = sortOut(inventory.shards.filter((s) => s.owner === node), exclude);
  if (movable.length > 0 && targets.length === 0) {
    throw new TasksdError(
      ErrorType.NoDestination,
      `no node can take node ${node}'s ${movable.length} shard(s): ` +
        (inventory.nodes.length === 1 ? 'it is the only node; add one with "tasksd node add <id>"' : 'every other node is cordoned; uncordon one with "tasksd node uncordon <id>"'),
    );
  }
  const ledger = new Ledger(inventory);
  const moves: PlannedMove[] = [];
  for (const shard of largestFirst(movable)) {
    // Least loaded by the strategy's measure, then by the other one, then by name.
    const other: Strategy = strategy === 'by-size' ? 'by-count' : 'by-size';
    const to = [...targets].sort((a, b) => ledger.load(a, strategy) - ledger.load(b, strategy) || ledger.load(a, other) - ledger.load(b, other) || a.localeCompare(b))[0];
    const move = { org: shard.org, ns: shard.ns, from: node, to, bytes: shard.bytes };
    ledger.apply(move);
    moves.push(move);
  }
  const plan: Plan = { kind: 'drain', node, strategy, moves, bytes: sum(moves), load: ledger.rows(), reached: staying === 0, notes: [...notes] };
  if (staying > 0) plan.unreached = `${staying} shard(s) stay on ${node}: ${notes.join('; ')}`;
  if (!drained.cordoned) plan.notes.push(`node ${node} is not cordoned: new shards may still be placed on it (tasksd node cordon ${node})`);
  return plan;
}

function sum(moves: PlannedMove[]): number {
  return moves.reduce((total, m) => total + m.bytes, 0);
}
