// The SQLite catalog driver: the embedded default, one file (`$TASKSD_DATA/catalog.db`
// or TASKSD_CATALOG=sqlite:PATH) shared by every process on one machine. WAL mode,
// FULL sync and a busy timeout let the worker, the CLI and writers use it at once;
// every multi-step change is one IMMEDIATE transaction.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../common/errors';
import type { AdoptResult, Catalog, CatalogSnapshot, ClaimRecord, ClaimRoute, NodeRecord, NodeRegistration, ShardRecord } from './catalog';
import { catalogConflict, newClusterId, registrationOutcome, SCHEMA_VERSION, shardBusy, unknownNode, unknownShard } from './rules';

const TABLES = `
  CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY,
    dir TEXT NOT NULL,
    url TEXT,
    kind TEXT NOT NULL DEFAULT 'embedded',
    created_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS shards (
    org TEXT NOT NULL,
    ns TEXT NOT NULL,
    owner TEXT NOT NULL REFERENCES nodes(id),
    job_id TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org, ns)
  );
  CREATE TABLE IF NOT EXISTS cluster (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    id TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
`;
/** Columns added after the first catalogs were made: ALTERed in when missing. */
const ADDED_COLUMNS = ['claim_from TEXT', 'claim_to TEXT', 'claimed_at TEXT', 'epoch INTEGER NOT NULL DEFAULT 1'];
const SHARD = 'org, ns, owner, job_id AS jobId, epoch';
const NODE = 'id, dir, url, kind';
/**
 * v4: nodes of several hosts may share a directory path, so the UNIQUE on `dir` goes
 * (embedded nodes are kept apart by store/node-dir.ts); SQLite drops a constraint by
 * rebuilding the table.
 */
const NODES_V4 = `
  CREATE TABLE nodes_v4 (id TEXT PRIMARY KEY, dir TEXT NOT NULL, url TEXT, kind TEXT NOT NULL DEFAULT 'embedded', created_at TEXT NOT NULL);
  INSERT INTO nodes_v4 (id, dir, created_at) SELECT id, dir, created_at FROM nodes;
  DROP TABLE nodes;
  ALTER TABLE nodes_v4 RENAME TO nodes;
`;

export class SqliteCatalog implements Catalog {
  readonly db: Database.Database;
  readonly clusterId: string;

  constructor(readonly location: string) {
    fs.mkdirSync(path.dirname(location), { recursive: true });
    this.db = new Database(location);
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // A catalog at the current version is only read: opening one changes nothing on disk.
    const current = this.db.pragma('user_version', { simple: true }) === SCHEMA_VERSION;
    this.clusterId = current ? this.currentClusterId() : this.db.transaction(() => this.upgrade()).immediate();
  }

  /** Idempotent, in one write transaction, so two processes opening a new catalog agree. */
  private upgrade(): string {
    this.db.exec(TABLES);
    const nodeColumns = (this.db.prepare('PRAGMA table_info(nodes)').all() as { name: string }[]).map((c) => c.name);
    if (!nodeColumns.includes('kind')) this.db.exec(NODES_V4);
    const columns = new Set((this.db.prepare('PRAGMA table_info(shards)').all() as { name: string }[]).map((c) => c.name));
    for (const column of ADDED_COLUMNS) {
      if (!columns.has(column.split(' ')[0])) this.db.exec(`ALTER TABLE shards ADD COLUMN ${column}`);
    }
    this.db.prepare('INSERT OR IGNORE INTO cluster (singleton, id, created_at) VALUES (1, ?, ?)').run(newClusterId(), now());
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return this.currentClusterId();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async addNode(id: string, dir: string): Promise<NodeRecord> {
    return this.db
      .transaction(() => {
        if (this.db.prepare('SELECT 1 FROM nodes WHERE id = ?').get(id)) throw new TasksdError(ErrorType.NodeExists, `node ${id} already exists`);
        const taken = this.db.prepare(`SELECT id FROM nodes WHERE dir = ? AND kind = 'embedded'`).get(dir) as { id: string } | undefined;
        if (taken) throw new TasksdError(ErrorType.NodeExists, `directory ${dir} already belongs to node ${taken.id}`);
        this.db.prepare(`INSERT INTO nodes (id, dir, url, kind, created_at) VALUES (?, ?, NULL, 'embedded', ?)`).run(id, dir, now());
        return { id, dir, url: null, kind: 'embedded' as const };
      })
      .immediate();
  }

  async registerNode(node: NodeRegistration, { replace = false } = {}): Promise<NodeRecord> {
    return this.db
      .transaction(() => {
        const existing = this.db.prepare(`SELECT ${NODE} FROM nodes WHERE id = ?`).get(node.id) as NodeRecord | undefined;
        const outcome = registrationOutcome(existing, node, replace);
        if (outcome === 'insert') {
          this.db.prepare(`INSERT INTO nodes (id, dir, url, kind, created_at) VALUES (?, ?, ?, 'agent', ?)`).run(node.id, node.dir, node.url, now());
        } else if (outcome === 'update') {
          this.db.prepare(`UPDATE nodes SET dir = ?, url = ?, kind = 'agent' WHERE id = ?`).run(node.dir, node.url, node.id);
        }
        return { ...node, kind: 'agent' as const };
      })
      .immediate();
  }

  async setEmbeddedUrl(id: string, url: string): Promise<void> {
    this.db.prepare(`UPDATE nodes SET url = ? WHERE id = ? AND kind = 'embedded'`).run(url, id);
  }

  async findNode(id: string): Promise<NodeRecord | undefined> {
    return this.db.prepare(`SELECT ${NODE} FROM nodes WHERE id = ?`).get(id) as NodeRecord | undefined;
  }

  async node(id: string): Promise<NodeRecord> {
    return (await this.findNode(id)) ?? Promise.reject(unknownNode(id));
  }

  async listNodes(): Promise<NodeRecord[]> {
    return this.db.prepare(`SELECT ${NODE} FROM nodes ORDER BY id`).all() as NodeRecord[];
  }

  async findShard(org: string, ns: string): Promise<ShardRecord | undefined> {
    return this.shardRow(org, ns);
  }

  private shardRow(org: string, ns: string): ShardRecord | undefined {
    return this.db.prepare(`SELECT ${SHARD} FROM shards WHERE org = ? AND ns = ?`).get(org, ns) as ShardRecord | undefined;
  }

  async shard(org: string, ns: string): Promise<ShardRecord> {
    return this.shardRow(org, ns) ?? Promise.reject(unknownShard(org, ns));
  }

  async listShards(): Promise<ShardRecord[]> {
    return this.db.prepare(`SELECT ${SHARD} FROM shards ORDER BY org, ns`).all() as ShardRecord[];
  }

  async insertShard(org: string, ns: string, owner: string): Promise<void> {
    try {
      this.db.prepare('INSERT INTO shards (org, ns, owner, created_at, epoch) VALUES (?, ?, ?, ?, 1)').run(org, ns, owner, now());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new TasksdError(ErrorType.ShardExists, `shard ${org}/${ns} already exists`);
      throw err;
    }
  }

  async deleteShard(org: string, ns: string): Promise<void> {
    this.db.prepare('DELETE FROM shards WHERE org = ? AND ns = ?').run(org, ns);
  }

  async listClaims(): Promise<ClaimRecord[]> {
    return this.db
      .prepare(
        `SELECT ${SHARD}, claim_from AS "from", claim_to AS "to", claimed_at AS claimedAt
         FROM shards WHERE job_id IS NOT NULL ORDER BY claimed_at, org, ns`,
      )
      .all() as ClaimRecord[];
  }

  async claim(org: string, ns: string, jobId: string, route?: ClaimRoute): Promise<ShardRecord> {
    return this.db
      .transaction(() => {
        const shard = this.shardRow(org, ns);
        if (!shard) throw unknownShard(org, ns);
        if (shard.jobId && shard.jobId !== jobId) throw shardBusy(org, ns, shard.jobId);
        if (shard.jobId !== jobId) {
          this.db
            .prepare('UPDATE shards SET job_id = ?, claim_from = ?, claim_to = ?, claimed_at = ? WHERE org = ? AND ns = ?')
            .run(jobId, route?.from ?? null, route?.to ?? null, now(), org, ns);
        } else if (route) {
          this.db
            .prepare('UPDATE shards SET claim_from = ?, claim_to = ? WHERE org = ? AND ns = ? AND claim_to IS NULL')
            .run(route.from, route.to, org, ns);
        }
        return { ...shard, jobId };
      })
      .immediate();
  }

  async release(org: string, ns: string, jobId: string): Promise<void> {
    this.db
      .prepare('UPDATE shards SET job_id = NULL, claim_from = NULL, claim_to = NULL, claimed_at = NULL WHERE org = ? AND ns = ? AND job_id = ?')
      .run(org, ns, jobId);
  }

  async flipOwner(org: string, ns: string, from: string, to: string, jobId: string): Promise<number | null> {
    const row = this.db
      .prepare('UPDATE shards SET owner = ?, epoch = epoch + 1 WHERE org = ? AND ns = ? AND owner = ? AND job_id = ? RETURNING epoch')
      .get(to, org, ns, from, jobId) as { epoch: number } | undefined;
    return row?.epoch ?? null;
  }

  async snapshot(): Promise<CatalogSnapshot> {
    return { clusterId: this.currentClusterId(), nodes: await this.listNodes(), shards: await this.listShards() };
  }

  async adopt(snapshot: CatalogSnapshot): Promise<AdoptResult> {
    return this.db
      .transaction(() => {
        const theirs = this.currentClusterId();
        const count = (table: string) => (this.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
        const [nodes, shards] = [count('nodes'), count('shards')];
        if (theirs !== snapshot.clusterId && nodes + shards > 0) throw catalogConflict(this.location, theirs, nodes, shards, snapshot.clusterId);
        let changed = this.db.prepare('UPDATE cluster SET id = ? WHERE id <> ?').run(snapshot.clusterId, snapshot.clusterId).changes;
        const putNode = this.db.prepare(
          `INSERT INTO nodes (id, dir, url, kind, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET dir = excluded.dir, url = excluded.url, kind = excluded.kind
           WHERE dir <> excluded.dir OR url IS NOT excluded.url OR kind <> excluded.kind`,
        );
        const putShard = this.db.prepare(
          `INSERT INTO shards (org, ns, owner, epoch, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (org, ns) DO UPDATE SET owner = excluded.owner, epoch = excluded.epoch
           WHERE owner <> excluded.owner OR epoch <> excluded.epoch`,
        );
        for (const node of snapshot.nodes) changed += putNode.run(node.id, node.dir, node.url, node.kind, now()).changes;
        for (const shard of snapshot.shards) changed += putShard.run(shard.org, shard.ns, shard.owner, shard.epoch, now()).changes;
        return { nodes: snapshot.nodes.length, shards: snapshot.shards.length, changed };
      })
      .immediate();
  }

  private currentClusterId(): string {
    return (this.db.prepare('SELECT id FROM cluster').get() as { id: string }).id;
  }
}

function now(): string {
  return new Date().toISOString();
}
