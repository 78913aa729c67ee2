// The SQLite catalog driver: the embedded default, one file (`$TASKSD_DATA/catalog.db`
// or TASKSD_CATALOG=sqlite:PATH) shared by every process on one machine. WAL mode,
// FULL sync and a busy timeout let the worker, the CLI and writers use it at once;
// every multi-step change is one IMMEDIATE transaction.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../common/errors';
import type { AdoptResult, Catalog, CatalogSnapshot, ClaimRecord, ClaimRoute, NodeRecord, NodeRegistration, PlannedMove, ShardRecord } from './catalog';
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
  CREATE TABLE IF NOT EXISTS fleet_plans (fleet_id TEXT PRIMARY KEY, summary TEXT NOT NULL, created_at TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS fleet_moves (
    fleet_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    org TEXT NOT NULL,
    ns TEXT NOT NULL,
    from_node TEXT NOT NULL,
    to_node TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (fleet_id, seq)
  );
`;
/** Columns added after the first catalogs were made: ALTERed in when missing. */
const ADDED_COLUMNS = ['claim_from TEXT', 'claim_to TEXT', 'claimed_at TEXT', 'epoch INTEGER NOT NULL DEFAULT 1'];
const SHARD = 'org, ns, owner, job_id AS jobId, epoch';
const NODE = 'id, dir, url, kind, cordoned';
type NodeRow = Omit<NodeRecord, 'cordoned'> & { cordoned: number };
/** SQLite has no booleans: 0 or 1 becomes false or true. */
const toNode = (row: NodeRow | undefined): NodeRecord | undefined => row && { ...row, cordoned: row.cordoned === 1 };
const MOVE = 'org, ns, from_node AS "from", to_node AS "to", bytes';
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
    // v5: after the v4 rebuild, which made the table without it.
    const cordonable = (this.db.prepare('PRAGMA table_info(nodes)').all() as { name: string }[]).some((c) => c.name === 'cordoned');
    if (!cordonable) this.db.exec('ALTER TABLE nodes ADD COLUMN cordoned INTEGER NOT NULL DEFAULT 0');
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
        return { id, dir, url: null, kind: 'embedded' as const, cordoned: false };
      })
      .immediate();
  }

  async registerNode(node: NodeRegistration, { replace = false } = {}): Promise<NodeRecord> {
    return this.db
      .transaction(() => {
        const existing = toNode(this.db.prepare(`SELECT ${NODE} FROM nodes WHERE id = ?`).get(node.id) as NodeRow | undefined);
        const outcome = registrationOutcome(existing, node, replace);
        if (outcome === 'insert') {
          this.db.prepare(`INSERT INTO nodes (id, dir, url, kind, created_at) VALUES (?, ?, ?, 'agent', ?)`).run(node.id, node.dir, node.url, now());
        } else if (outcome === 'update') {
          this.db.prepare(`UPDATE nodes SET dir = ?, url = ?, kind = 'agent' WHERE id = ?`).run(node.dir, node.url, node.id);
        }
        // A restarted or replacing agent keeps the node's cordon.
        return { ...node, kind: 'agent' as const, cordoned: existing?.cordoned ?? false };
      })
      .immediate();
  }

  async setEmbeddedUrl(id: string, url: string): Promise<void> {
    this.db.prepare(`UPDATE nodes SET url = ? WHERE id = ? AND kind = 'embedded'`).run(url, id);
  }

  async findNode(id: string): Promise<NodeRecord | undefined> {
    return toNode(this.db.prepare(`SELECT ${NODE} FROM nodes WHERE id = ?`).get(id) as NodeRow | undefined);
  }

  async node(id: string): Promise<NodeRecord> {
    return (await this.findNode(id)) ?? Promise.reject(unknownNode(id));
  }

  async listNodes(): Promise<NodeRecord[]> {
    return (this.db.prepare(`SELECT ${NODE} FROM nodes ORDER BY id`).all() as NodeRow[]).map((row) => toNode(row)!);
  }

  async setCordoned(id: string, cordoned: boolean): Promise<NodeRecord> {
    this.db.prepare('UPDATE nodes SET cordoned = ? WHERE id = ?').run(cordoned ? 1 : 0, id);
    return this.node(id);
  }

  async savePlan(fleetId: string, summary: string, moves: PlannedMove[]): Promise<string> {
    return this.db
      .transaction(() => {
        const stored = this.db.prepare('SELECT summary FROM fleet_plans WHERE fleet_id = ?').get(fleetId) as { summary: string } | undefined;
        if (stored) return stored.summary;
        this.db.prepare('INSERT INTO fleet_plans (fleet_id, summary, created_at) VALUES (?, ?, ?)').run(fleetId, summary, now());
        const insert = this.db.prepare('INSERT INTO fleet_moves (fleet_id, seq, org, ns, from_node, to_node, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)');
        moves.forEach((m, seq) => insert.run(fleetId, seq, m.org, m.ns, m.from, m.to, m.bytes));
        return summary;
      })
      .immediate();
  }

  async readPlan(fleetId: string, offset: number, limit: number): Promise<PlannedMove[]> {
    return this.db
      .prepare(`SELECT ${MOVE} FROM fleet_moves WHERE fleet_id = ? AND seq >= ? ORDER BY seq LIMIT ?`)
      .all(fleetId, offset, limit) as PlannedMove[];
  }

  async dropPlan(fleetId: string): Promise<void> {
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM fleet_moves WHERE fleet_id = ?').run(fleetId);
        this.db.prepare('DELETE FROM fleet_plans WHERE fleet_id = ?').run(fleetId);
      })
      .immediate();
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
          `INSERT INTO nodes (id, dir, url, kind, cordoned, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET dir = excluded.dir, url = excluded.url, kind = excluded.kind, cordoned = excluded.cordoned
           WHERE dir <> excluded.dir OR url IS NOT excluded.url OR kind <> excluded.kind OR cordoned <> excluded.cordoned`,
        );
        const putShard = this.db.prepare(
          `INSERT INTO shards (org, ns, owner, epoch, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (org, ns) DO UPDATE SET owner = excluded.owner, epoch = excluded.epoch
           WHERE owner <> excluded.owner OR epoch <> excluded.epoch`,
        );
        for (const node of snapshot.nodes) changed += putNode.run(node.id, node.dir, node.url, node.kind, node.cordoned ? 1 : 0, now()).changes;
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
