// The load of each node while a plan is made: shards and bytes, before and as the
// planned moves would leave it.
import type { PlannedMove } from '../catalog/catalog';
import type { Inventory } from './inventory';
import type { LoadRow, NodeLoad, Strategy } from './types';

export class Ledger {
  private readonly before = new Map<string, NodeLoad>();
  private readonly after = new Map<string, NodeLoad>();

  constructor(private readonly inventory: Inventory) {
    for (const node of inventory.nodes) {
      this.before.set(node.id, { shards: 0, bytes: 0 });
      this.after.set(node.id, { shards: 0, bytes: 0 });
    }
    for (const shard of inventory.shards) {
      for (const loads of [this.before, this.after]) {
        const load = loads.get(shard.owner);
        if (!load) continue; // owned by a node the catalog does not list: nothing to balance it against
        load.shards += 1;
        load.bytes += shard.bytes ?? 0;
      }
    }
  }

  /** The node's load as the plan leaves it so far, by the strategy's measure. */
  load(node: string, strategy: Strategy): number {
    const load = this.after.get(node)!;
    return strategy === 'by-size' ? load.bytes : load.shards;
  }

  apply(move: PlannedMove): void {
    const from = this.after.get(move.from)!;
    const to = this.after.get(move.to)!;
    from.shards -= 1;
    from.bytes -= move.bytes;
    to.shards += 1;
    to.bytes += move.bytes;
  }

  rows(): LoadRow[] {
    return this.inventory.nodes.map((node) => ({
      node: node.id,
      cordoned: node.cordoned,
      before: { ...this.before.get(node.id)! },
      after: { ...this.after.get(node.id)! },
    }));
  }
}

/** How much one shard weighs by the strategy's measure. */
export function weight(shard: { bytes: number }, strategy: Strategy): number {
  return strategy === 'by-size' ? shard.bytes : 1;
}
