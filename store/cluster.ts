// The cluster: its catalog (SQLite under the data root by default, or PostgreSQL) plus
// the nodes' shard files. This is the store manager every surface shares (CLI, worker,
// tests); it resolves a shard to its owner's file and never creates a shard file by
// opening a missing path.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { catalogSetting, dataRoot, retainSource } from '../common/config';
import { ErrorType, TasksdError } from '../common/errors';
import type { Catalog, NodeRecord, ShardRecord } from '../catalog/catalog';
import { catalogLocation, openCatalog, type CatalogLocation } from '../catalog/open';
import type { PostgresOptions } from '../catalog/postgres';
import { defaultNodeDir, shardFile } from './layout';
import { checkNodeDir } from './node-dir';
import { createShardFile, openShardFile, readState, type ShardDb, type Task } from './shard-file';
import { fileSize, fsyncDir } from './durable-fs';

export interface ClusterOptions {
  /** Keep the source file (renamed, so no command reports it as a shard) after a move. */
  retainSource?: boolean;
  /** TASKSD_CATALOG: unset for SQLite under the data root, `sqlite:PATH`, or a postgres:// URL. */
  catalog?: string;
  /** What to tell while the catalog server is away (PostgreSQL only). */
  onCatalogWait?: PostgresOptions['onWait'];
  /** Refuse, rather than create, a SQLite catalog that is not there yet. */
  mustExist?: boolean;
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
  private constructor(
    readonly dataRoot: string,
    readonly catalog: Catalog,
    readonly options: ClusterOptions,
  ) {}

  /** The cluster the environment names (TASKSD_DATA, TASKSD_CATALOG, TASKSD_RETAIN_SOURCE). */
  static fromEnv(
    options: Pick<ClusterOptions, 'onCatalogWait'> = {},
    env: NodeJS.ProcessEnv = process.env,
    { mustExist = false } = {},
  ): Promise<Cluster> {
    return Cluster.open(dataRoot(env), { retainSource: retainSource(env), catalog: catalogSetting(env), mustExist, ...options });
  }

  /** Opens the cluster's catalog (creating or upgrading its schema); callers close it. */
  static async open(dataRoot: string, options: ClusterOptions = {}): Promise<Cluster> {
    const root = path.resolve(dataRoot);
    const location: CatalogLocation = catalogLocation(root, options.catalog);
    if (options.mustExist && location.driver === 'sqlite' && !fs.existsSync(location.file)) {
      throw new TasksdError(ErrorType.UnknownNode, `no cluster at ${root}: ${location.file} does not exist; set TASKSD_DATA, or add a node first`);
    }
    return new Cluster(root, await openCatalog(location, { onWait: options.onCatalogWait }), options);
  }

  async close(): Promise<void> {
    await this.catalog.close();
  }

  /** Adds a node; every refusal comes before the directory is created (store/node-dir.ts has the rule). */
  async addNode(id: string, dir?: string): Promise<NodeRecord> {
    if (await this.catalog.findNode(id)) throw new TasksdError(ErrorType.NodeExists, `node ${id} already exists`);
    const nodeDir = checkNodeDir(this.dataRoot, dir ?? defaultNodeDir(this.dataRoot, id), await this.catalog.listNodes());
    fs.mkdirSync(nodeDir, { recursive: true });
    return this.catalog.addNode(id, nodeDir);
  }

  async createShard(org: string, ns: string, nodeId: string): Promise<ShardSummary> {
    const node = await this.catalog.node(nodeId);
    if (await this.catalog.findShard(org, ns)) {
      throw new TasksdError(ErrorType.ShardExists, `shard ${org}/${ns} already exists`);
    }
    const file = shardFile(node.dir, org, ns);
    createShardFile(file, org, ns);
    try {
      fsyncDir(node.dir);
      await this.catalog.insertShard(org, ns, nodeId);
    } catch (err) {
      fs.rmSync(file, { force: true });
      throw err;
    }
    return this.summarize(await this.catalog.shard(org, ns));
  }

  /** The file of the node that owns the shard now. */
  async ownerFile(org: string, ns: string): Promise<{ shard: ShardRecord; node: NodeRecord; file: string }> {
    const shard = await this.catalog.shard(org, ns);
    const node = await this.catalog.node(shard.owner);
    return { shard, node, file: shardFile(node.dir, org, ns) };
  }

  async fileOn(nodeId: string, org: string, ns: string): Promise<string> {
    return shardFile((await this.catalog.node(nodeId)).dir, org, ns);
  }

  /** Opens the owner's file; callers close it. */
  async openOwner(org: string, ns: string, options: { readonly?: boolean } = {}): Promise<ShardDb> {
    return openShardFile((await this.ownerFile(org, ns)).file, options);
  }

  /** Reads a task from the owner; a read racing a cut-over re-resolves the owner once. */
  async getTask(org: string, ns: string, id: string): Promise<Task | undefined> {
    for (let attempt = 0; ; attempt++) {
      let db: ShardDb;
      try {
        db = await this.openOwner(org, ns);
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

  async summarize(shard: ShardRecord): Promise<ShardSummary> {
    return summarizeFile(shard, (await this.ownerFile(shard.org, shard.ns)).file);
  }

  /** Every shard; one whose file is missing or damaged is listed with its error, not fatal to the rest. */
  async listShards(): Promise<ShardListing[]> {
    const nodes = new Map((await this.catalog.listNodes()).map((node) => [node.id, node]));
    return (await this.catalog.listShards()).map((shard) => {
      const node = nodes.get(shard.owner);
      try {
        if (!node) throw new TasksdError(ErrorType.UnknownNode, `shard ${shard.org}/${shard.ns} is owned by unknown node ${shard.owner}`);
        return summarizeFile(shard, shardFile(node.dir, shard.org, shard.ns));
      } catch (err) {
        return unreadable(shard, node, err);
      }
    });
  }
}

function summarizeFile(shard: ShardRecord, file: string): ShardSummary {
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

/** A listed shard whose file cannot be read: the catalog's view and the reason. */
function unreadable(shard: ShardRecord, node: NodeRecord | undefined, err: unknown): UnreadableShard {
  return unreadableRow(shard, node && shardFile(node.dir, shard.org, shard.ns), err, { restorable: !!node });
}

/**
 * The row for a shard whose `file` cannot be read (or that has no file to read), with
 * the reason; `restorable` adds the advice for a damaged or missing file. Node agents
 * list their shards with it too.
 */
export function unreadableRow(shard: ShardRecord, file: string | undefined, err: unknown, { restorable = true } = {}): UnreadableShard {
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
    error: restorable ? `${reason}; restore it from a backup` : reason,
  };
}
