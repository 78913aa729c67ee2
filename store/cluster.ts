// The cluster under one data root: the catalog plus the nodes' shard files. This is
// the store manager every surface shares (CLI, worker, tests); it resolves a shard
// to its owner's file and never creates a shard file by opening a missing path.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../common/errors';
import { Catalog, type NodeRecord, type ShardRecord } from './catalog';
import { catalogPath, defaultNodeDir, shardFile } from './layout';
import { checkNodeDir } from './node-dir';
import { createShardFile, openShardFile, readState, type ShardDb, type Task } from './shard-file';
import { fileSize, fsyncDir } from './durable-fs';

export interface ClusterOptions {
  /** Keep the source file (renamed, so no command reports it as a shard) after a move. */
  retainSource?: boolean;
}

export interface ShardSummary {
  org: string;
  ns: string;
  owner: string;
  lockedBy: string | null;
  /** The catalog's claim: the job moving the shard, locked or not (an online copy, a stranded claim). */
  claimedBy: string | null;
  seq: number;
  bytes: number;
  rows: number;
}

/** A listed shard whose file could not be read: the catalog's view, and why the file cannot be read. */
export interface UnreadableShard {
  org: string;
  ns: string;
  owner: string;
  lockedBy: null;
  claimedBy: string | null;
  seq: null;
  /** What is on disk (main file + WAL), or null when the file is gone. */
  bytes: number | null;
  rows: null;
  error: string;
}

export type ShardListing = ShardSummary | UnreadableShard;

export class Cluster {
  readonly catalog: Catalog;

  constructor(
    readonly dataRoot: string,
    readonly options: ClusterOptions = {},
  ) {
    this.dataRoot = path.resolve(dataRoot);
    this.catalog = new Catalog(catalogPath(this.dataRoot));
  }

  close(): void {
    this.catalog.close();
  }

  /** Adds a node; every refusal comes before the directory is created (store/node-dir.ts has the rule). */
  addNode(id: string, dir?: string): NodeRecord {
    if (this.catalog.findNode(id)) throw new TasksdError(ErrorType.NodeExists, `node ${id} already exists`);
    const nodeDir = checkNodeDir(this.dataRoot, dir ?? defaultNodeDir(this.dataRoot, id), this.catalog.listNodes());
    fs.mkdirSync(nodeDir, { recursive: true });
    return this.catalog.addNode(id, nodeDir);
  }

  createShard(org: string, ns: string, nodeId: string): ShardSummary {
    const node = this.catalog.node(nodeId);
    if (this.catalog.findShard(org, ns)) {
      throw new TasksdError(ErrorType.ShardExists, `shard ${org}/${ns} already exists`);
    }
    const file = shardFile(node.dir, org, ns);
    createShardFile(file, org, ns);
    try {
      fsyncDir(node.dir);
      this.catalog.insertShard(org, ns, nodeId);
    } catch (err) {
      fs.rmSync(file, { force: true });
      throw err;
    }
    return this.summarize(this.catalog.shard(org, ns));
  }

  /** The file of the node that owns the shard now. */
  ownerFile(org: string, ns: string): { shard: ShardRecord; node: NodeRecord; file: string } {
    const shard = this.catalog.shard(org, ns);
    const node = this.catalog.node(shard.owner);
    return { shard, node, file: shardFile(node.dir, org, ns) };
  }

  fileOn(nodeId: string, org: string, ns: string): string {
    return shardFile(this.catalog.node(nodeId).dir, org, ns);
  }

  /** Opens the owner's file; callers close it. */
  openOwner(org: string, ns: string, options: { readonly?: boolean } = {}): ShardDb {
    return openShardFile(this.ownerFile(org, ns).file, options);
  }

  /** Reads a task from the owner; a read racing a cut-over re-resolves the owner once. */
  getTask(org: string, ns: string, id: string): Task | undefined {
    for (let attempt = 0; ; attempt++) {
      let db: ShardDb;
      try {
        db = this.openOwner(org, ns);
      } catch (err) {
        if (attempt === 0 && err instanceof TasksdError && err.type === ErrorType.ShardMissing) continue;
        throw err;
      }
      try {
        return db.prepare('SELECT id, title, body, seq FROM tasks WHERE id = ?').get(id) as Task | undefined;
      } finally {
        db.close();
      }
    }
  }

  summarize(shard: ShardRecord): ShardSummary {
    const { file } = this.ownerFile(shard.org, shard.ns);
    // Not readonly: a read-only connection cannot clean up the -wal/-shm it leaves behind.
    const db = openShardFile(file);
    try {
      const state = readState(db);
      const bytes = (fileSize(file) ?? 0) + (fileSize(`${file}-wal`) ?? 0);
      return {
        org: shard.org,
        ns: shard.ns,
        owner: shard.owner,
        lockedBy: state.lockedBy,
        claimedBy: shard.jobId,
        seq: state.seq,
        bytes,
        rows: state.rows,
      };
    } finally {
      db.close();
    }
  }

  /** Every shard; one whose file is missing or damaged is listed with its error, not fatal to the rest. */
  listShards(): ShardListing[] {
    return this.catalog.listShards().map((shard) => {
      try {
        return this.summarize(shard);
      } catch (err) {
        return this.unreadable(shard, err);
      }
    });
  }

  private unreadable(shard: ShardRecord, err: unknown): UnreadableShard {
    const node = this.catalog.findNode(shard.owner);
    const file = node && shardFile(node.dir, shard.org, shard.ns);
    const size = file ? fileSize(file) : undefined;
    // Our own errors name the file already; SQLite's ("file is not a database") do not.
    const reason = err instanceof TasksdError || !file ? (err as Error).message : `shard file ${file} cannot be read: ${(err as Error).message}`;
    return {
      org: shard.org,
      ns: shard.ns,
      owner: shard.owner,
      lockedBy: null,
      claimedBy: shard.jobId,
      seq: null,
      bytes: size === undefined ? null : size + (fileSize(`${file}-wal`) ?? 0),
      rows: null,
      error: node ? `${reason}; restore it from a backup` : reason,
    };
  }
}
