// One node's own shard files, as its agent sees them. Every path it opens is inside
// this node's directory (the catalog's `dir` for the node): a write is applied
// through the existing LocalReplicator (one write transaction that checks the file is
// live, unlocked and at the catalog's epoch), but the replicator resolves the owner
// through a view of the cluster that only ever answers with this node's own file and
// refuses, naming the owner, a shard that another node owns.
import { ErrorType, TasksdError } from '../common/errors';
import type { ShardRecord } from '../catalog/catalog';
import { unreadableRow, type Cluster, type ShardListing } from '../store/cluster';
import { fileSize, fsyncDir } from '../store/durable-fs';
import { shardFile } from '../store/layout';
import { LocalReplicator } from '../store/local-replicator';
import { readChangesSince, type ChangeBatch } from '../store/replay';
import type { Applied, TaskInput } from '../store/replicator';
import { createShardFile, openShardFile, readState, type ShardDb, type Task } from '../store/shard-file';
import { ShardMovedError, type CreatedShard } from '../transport/wire';

export class NodeStore {
  /** Writes through this are only ever applied to this node's own files. */
  readonly replicator: LocalReplicator;
  /** The cluster as this node may use it: `ownerFile` answers this node's file or ShardMovedError. */
  private readonly view: Cluster;
  private dirOnce?: Promise<string>;

  constructor(
    readonly cluster: Cluster,
    readonly nodeId: string,
  ) {
    // Cluster has a private constructor and LocalReplicator takes a Cluster; an object
    // whose prototype is the cluster, with ownerFile replaced, reuses every other
    // method and field unchanged (summarize, catalog, options).
    this.view = Object.create(cluster, {
      ownerFile: { value: (org: string, ns: string) => this.ownFile(org, ns) },
    }) as Cluster;
    this.replicator = new LocalReplicator(this.view);
  }

  /** This node's directory, from the catalog (read once: a node's dir does not change while it runs). */
  dir(): Promise<string> {
    if (!this.dirOnce) {
      const lookup = this.cluster.catalog.node(this.nodeId).then((node) => node.dir);
      // A failed lookup (catalog away) is not remembered.
      lookup.catch(() => this.dirOnce === lookup && (this.dirOnce = undefined));
      this.dirOnce = lookup;
    }
    return this.dirOnce;
  }

  /** The path of a shard's file on this node, owned or not. */
  async file(org: string, ns: string): Promise<string> {
    return shardFile(await this.dir(), org, ns);
  }

  /** The shard's catalog row and this node's file, or ShardMovedError when another node owns it. */
  async ownFile(org: string, ns: string): Promise<{ shard: ShardRecord; node: { id: string; dir: string }; file: string }> {
    const shard = await this.cluster.catalog.shard(org, ns);
    if (shard.owner !== this.nodeId) throw new ShardMovedError(org, ns, shard.owner);
    const dir = await this.dir();
    return { shard, node: { id: this.nodeId, dir }, file: shardFile(dir, org, ns) };
  }

  /** Makes the shard's file here; the caller adds the catalog row (and removes the file if that fails). */
  async createShard(org: string, ns: string): Promise<CreatedShard> {
    const existing = await this.cluster.catalog.findShard(org, ns);
    if (existing && existing.owner !== this.nodeId) {
      throw new TasksdError(ErrorType.ShardExists, `shard ${org}/${ns} already exists on node ${existing.owner}`);
    }
    const dir = await this.dir();
    const file = shardFile(dir, org, ns);
    createShardFile(file, org, ns);
    fsyncDir(dir);
    return { org, ns, node: this.nodeId, seq: 0, rows: 0, bytes: (fileSize(file) ?? 0) + (fileSize(`${file}-wal`) ?? 0) };
  }

  put(org: string, ns: string, task: TaskInput): Promise<Applied> {
    return this.replicator.propose({ op: 'put', org, ns, task });
  }

  /** One transaction for the whole batch. */
  load(org: string, ns: string, tasks: TaskInput[]): Promise<Applied> {
    return this.replicator.putMany(org, ns, tasks);
  }

  /** Reads from this node's file, only while this node owns the shard (another copy may be stale). */
  async get(org: string, ns: string, id: string): Promise<Task | undefined> {
    const { file } = await this.ownFile(org, ns);
    return this.withFile(file, (db) => db.prepare('SELECT id, title, body, seq FROM tasks WHERE id = ?').get(id) as Task | undefined);
  }

  /** The changes after `since` in this node's file (a move's source; owner or not, the file is what is read). */
  async framesSince(org: string, ns: string, since: number, limit?: number): Promise<ChangeBatch> {
    return this.withFile(await this.file(org, ns), (db) => readChangesSince(db, since, { limit }));
  }

  /** The shards the catalog says this node owns, summarized like Cluster.listShards; an unreadable file gets its own row. */
  async listShards(): Promise<ShardListing[]> {
    const owned = (await this.cluster.catalog.listShards()).filter((shard) => shard.owner === this.nodeId);
    const dir = await this.dir();
    const rows: ShardListing[] = [];
    for (const shard of owned) {
      try {
        rows.push(await this.view.summarize(shard));
      } catch (err) {
        rows.push(unreadableRow(shard, shardFile(dir, shard.org, shard.ns), err, { restorable: !(err instanceof ShardMovedError) }));
      }
    }
    return rows;
  }

  /** The file's own state row (lock holder, seq), whoever owns the shard. */
  async state(org: string, ns: string) {
    return this.withFile(await this.file(org, ns), readState);
  }

  private withFile<T>(file: string, fn: (db: ShardDb) => T): T {
    const db = openShardFile(file);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }
}
