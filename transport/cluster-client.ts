// What an application (and `tasksd put | get | load | shards | shard create`) does to
// a cluster's data: resolve the shard's owner in the catalog and talk to that node's
// agent. A write that reaches a node that no longer owns the shard (a move's hand-off
// happened since the lookup) follows the new owner once.
import type { Catalog } from '../catalog/catalog';
import { ErrorType, TasksdError } from '../common/errors';
import type { ShardListing } from '../store/cluster';
import type { TaskInput } from '../store/replicator';
import type { Task } from '../store/shard-file';
import type { Peers } from './peers';
import type { ShardTransport } from './transport';
import { ShardMovedError } from './wire';

export class ClusterClient {
  constructor(
    private readonly catalog: Catalog,
    private readonly peers: Peers,
  ) {}

  put(org: string, ns: string, task: TaskInput) {
    return this.onOwner(org, ns, (agent) => agent.put(org, ns, task));
  }

  get(org: string, ns: string, id: string): Promise<Task | undefined> {
    return this.onOwner(org, ns, (agent) => agent.get(org, ns, id));
  }

  load(org: string, ns: string, tasks: TaskInput[]) {
    return this.onOwner(org, ns, (agent) => agent.load(org, ns, tasks));
  }

  /** Makes the shard's file on `node` through its agent, then records it in the catalog. */
  async createShard(org: string, ns: string, node: string) {
    await this.catalog.node(node);
    if (await this.catalog.findShard(org, ns)) throw new TasksdError(ErrorType.ShardExists, `shard ${org}/${ns} already exists`);
    const created = await (await this.peers.to(node)).createShard(org, ns);
    await this.catalog.insertShard(org, ns, node);
    return created;
  }

  /**
   * Every shard in the catalog, as its owner's agent reports it; a shard whose agent
   * does not answer (or whose file it cannot read) is listed with the reason.
   */
  async listShards(): Promise<ShardListing[]> {
    const shards = await this.catalog.listShards();
    const byNode = new Map<string, Promise<ShardListing[]>>();
    for (const owner of new Set(shards.map((s) => s.owner))) {
      byNode.set(owner, this.peers.to(owner).then((agent) => agent.listShards()));
    }
    const listings = new Map<string, ShardListing[] | Error>();
    for (const [owner, listing] of byNode) listings.set(owner, await listing.catch((err: Error) => err));
    return shards.map((shard) => {
      const listing = listings.get(shard.owner);
      const found = Array.isArray(listing) ? listing.find((s) => s.org === shard.org && s.ns === shard.ns) : undefined;
      if (found) return { ...found, claimedBy: shard.jobId };
      const error = listing instanceof Error ? listing.message : `node ${shard.owner} did not list shard ${shard.org}/${shard.ns}`;
      return { org: shard.org, ns: shard.ns, owner: shard.owner, lockedBy: null, claimedBy: shard.jobId, seq: null, bytes: null, rows: null, error };
    });
  }

  private async onOwner<T>(org: string, ns: string, call: (agent: ShardTransport) => Promise<T>): Promise<T> {
    const { owner } = await this.catalog.shard(org, ns);
    try {
      return await call(await this.peers.to(owner));
    } catch (err) {
      if (!(err instanceof ShardMovedError) || err.owner === owner) throw err;
      return call(await this.peers.to(err.owner));
    }
  }
}
