// The catalog records the cluster's nodes, its shards and which node owns each
// shard. The owner column is the single source of truth for "who owns a shard";
// flipping it is the commit point of a migration. `job_id` is the claim that keeps
// two migrations of one shard from running at once (docs/CONTRACT.md invariant 6); the claim also
// records the route and when it was taken, so a job that ended without cleaning up
// can be reconciled from the catalog alone. The cluster's id, made once when the
// catalog is created, keeps a worker from acting on another cluster's jobs.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../common/errors';

export interface NodeRecord {
  id: string;
  dir: string;
}

export interface ShardRecord {
  org: string;
  ns: string;
  owner: string;
  jobId: string | null;
}

/** A shard held by a job: where the job was moving it and since when (ISO time). */
export interface ClaimRecord {
  org: string;
  ns: string;
  owner: string;
  jobId: string;
  /** Null only for claims taken before routes were recorded. */
  from: string | null;
  to: string | null;
  claimedAt: string | null;
}

export interface ClaimRoute {
  from: string;
  to: string;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY,
    dir TEXT NOT NULL UNIQUE,
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
/** Added after the first catalogs were made: ALTERed in when missing. */
const CLAIM_COLUMNS = ['claim_from TEXT', 'claim_to TEXT', 'claimed_at TEXT'];
const SHARD_COLUMNS = 'org, ns, owner, job_id AS jobId';

export class Catalog {
  readonly db: Database.Database;
  /** This cluster's identity (docs/CONTRACT.md: task queues and workers). */
  readonly clusterId: string;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.clusterId = this.db.transaction(() => this.upgrade()).immediate();
  }

  /** Idempotent, in one write transaction, so two processes opening a new catalog agree. */
  private upgrade(): string {
    const columns = new Set((this.db.prepare('PRAGMA table_info(shards)').all() as { name: string }[]).map((c) => c.name));
    for (const column of CLAIM_COLUMNS) {
      if (!columns.has(column.split(' ')[0])) this.db.exec(`ALTER TABLE shards ADD COLUMN ${column}`);
    }
    this.db
      .prepare('INSERT OR IGNORE INTO cluster (singleton, id, created_at) VALUES (1, ?, ?)')
      .run(newClusterId(), new Date().toISOString());
    return (this.db.prepare('SELECT id FROM cluster').get() as { id: string }).id;
  }

  close(): void {
    this.db.close();
  }

  addNode(id: string, dir: string): NodeRecord {
    if (this.findNode(id)) throw new TasksdError(ErrorType.NodeExists, `node ${id} already exists`);
    const taken = this.db.prepare('SELECT id FROM nodes WHERE dir = ?').get(dir) as { id: string } | undefined;
    if (taken) throw new TasksdError(ErrorType.NodeExists, `directory ${dir} already belongs to node ${taken.id}`);
    this.db.prepare('INSERT INTO nodes (id, dir, created_at) VALUES (?, ?, ?)').run(id, dir, new Date().toISOString());
    return { id, dir };
  }

  findNode(id: string): NodeRecord | undefined {
    return this.db.prepare('SELECT id, dir FROM nodes WHERE id = ?').get(id) as NodeRecord | undefined;
  }

  node(id: string): NodeRecord {
    const node = this.findNode(id);
    if (!node) throw new TasksdError(ErrorType.UnknownNode, `unknown node ${id}: add it with "tasksd node add ${id}"`);
    return node;
  }

  listNodes(): NodeRecord[] {
    return this.db.prepare('SELECT id, dir FROM nodes ORDER BY id').all() as NodeRecord[];
  }

  findShard(org: string, ns: string): ShardRecord | undefined {
    return this.db
      .prepare(`SELECT ${SHARD_COLUMNS} FROM shards WHERE org = ? AND ns = ?`)
      .get(org, ns) as ShardRecord | undefined;
  }

  shard(org: string, ns: string): ShardRecord {
    const shard = this.findShard(org, ns);
    if (!shard) {
      throw new TasksdError(
        ErrorType.UnknownShard,
        `unknown shard ${org}/${ns}: create it with "tasksd shard create --org ${org} --namespace ${ns} --node <node>"`,
      );
    }
    return shard;
  }

  listShards(): ShardRecord[] {
    return this.db
      .prepare(`SELECT ${SHARD_COLUMNS} FROM shards ORDER BY org, ns`)
      .all() as ShardRecord[];
  }

  /** Every shard a job holds, oldest claim first. */
  listClaims(): ClaimRecord[] {
    return this.db
      .prepare(
        `SELECT ${SHARD_COLUMNS}, claim_from AS "from", claim_to AS "to", claimed_at AS claimedAt
         FROM shards WHERE job_id IS NOT NULL ORDER BY claimed_at, org, ns`,
      )
      .all() as ClaimRecord[];
  }

  insertShard(org: string, ns: string, owner: string): void {
    this.db
      .prepare('INSERT INTO shards (org, ns, owner, created_at) VALUES (?, ?, ?, ?)')
      .run(org, ns, owner, new Date().toISOString());
  }

  /**
   * Claims the shard for one migration; idempotent for the same job, refused while
   * another holds it. The route is recorded once, by the claim that takes the shard.
   */
  claim(org: string, ns: string, jobId: string, route?: ClaimRoute): ShardRecord {
    return this.db
      .transaction(() => {
        const shard = this.shard(org, ns);
        if (shard.jobId && shard.jobId !== jobId) {
          throw new TasksdError(
            ErrorType.ShardBusy,
            `shard ${org}/${ns} is already being migrated by job ${shard.jobId}; wait for it or cancel it with "tasksd cancel ${shard.jobId}"`,
          );
        }
        if (shard.jobId !== jobId) {
          this.db
            .prepare('UPDATE shards SET job_id = ?, claim_from = ?, claim_to = ?, claimed_at = ? WHERE org = ? AND ns = ?')
            .run(jobId, route?.from ?? null, route?.to ?? null, new Date().toISOString(), org, ns);
        } else if (route) {
          this.db
            .prepare('UPDATE shards SET claim_from = ?, claim_to = ? WHERE org = ? AND ns = ? AND claim_to IS NULL')
            .run(route.from, route.to, org, ns);
        }
        return { ...shard, jobId };
      })
      .immediate();
  }

  /** Drops the claim if `jobId` holds it; a no-op otherwise (release is idempotent). */
  release(org: string, ns: string, jobId: string): void {
    this.db
      .prepare('UPDATE shards SET job_id = NULL, claim_from = NULL, claim_to = NULL, claimed_at = NULL WHERE org = ? AND ns = ? AND job_id = ?')
      .run(org, ns, jobId);
  }

  /** The commit point of a move: ownership passes from `from` to `to` for the claiming job only. */
  transferOwner(org: string, ns: string, from: string, to: string, jobId: string): boolean {
    const result = this.db
      .prepare('UPDATE shards SET owner = ? WHERE org = ? AND ns = ? AND owner = ? AND job_id = ?')
      .run(to, org, ns, from, jobId);
    return result.changes === 1;
  }
}

function newClusterId(): string {
  return `c-${randomBytes(6).toString('hex')}`;
}
