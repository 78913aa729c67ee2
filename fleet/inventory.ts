// What a plan is made from: the nodes (cordoned or not) and every shard with its owner,
// its size as its owner's agent reports it, and whether a move holds it. The CLI's
// `tasksd plan` and the fleet job's planning activity read it the same way.
import type { Catalog } from '../catalog/catalog';
import type { ShardListing } from '../store/cluster';

export interface InventoryShard {
  org: string;
  ns: string;
  owner: string;
  /** Null when the owner's agent could not read the file (it is then left where it is). */
  bytes: number | null;
  /** The job moving it now, if any. */
  claimedBy: string | null;
}

export interface Inventory {
  nodes: Array<{ id: string; cordoned: boolean }>;
  shards: InventoryShard[];
}

/** `listShards`: every shard as its owner's agent reports it (ClusterClient.listShards). */
export async function takeInventory(catalog: Catalog, listShards: () => Promise<ShardListing[]>): Promise<Inventory> {
  const nodes = (await catalog.listNodes()).map((n) => ({ id: n.id, cordoned: n.cordoned }));
  const shards = (await listShards()).map((s) => ({
    org: s.org,
    ns: s.ns,
    owner: s.owner,
    bytes: 'error' in s ? null : s.bytes,
    claimedBy: s.claimedBy,
  }));
  return { nodes, shards };
}
