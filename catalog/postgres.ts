// The PostgreSQL catalog driver (TASKSD_CATALOG=postgres://…, any libpq URL with
// sslmode and friends): for clusters whose processes share no disk. Same semantics as
// the SQLite driver; every change that reads before it writes is one transaction with
// the row locked (SELECT … FOR UPDATE), and the owner flip is one conditional UPDATE.
//
// The schema is created and upgraded on first use under a transaction-scoped advisory
// lock, so processes starting at once never race it; its version is recorded.
//
// While the server is away (stopped, restarting, a cut link) a call waits for it,
// telling `onWait` what it waits for, up to `maxWaitMs`; then it fails retryably.
// Opening never waits: a bad URL, unknown database or refused password fails at once.
import { Pool, type PoolClient, type QueryResultRow } from 'pg';
import { ErrorType, TasksdError } from '../common/errors';
import type { AdoptResult, Catalog, CatalogSnapshot, ClaimRecord, ClaimRoute, NodeRecord, NodeRegistration, PlannedMove, ShardRecord } from './catalog';
import { isTransient, openFailure, redactUrl, stillUnavailable } from './postgres-errors';
import { catalogConflict, newClusterId, registrationOutcome, SCHEMA_VERSION, shardBusy, unknownNode, unknownShard } from './rules';

export interface PostgresOptions {
  /** Told, about once per attempt, what a call waits for while the server is away. */
  onWait?: (message: string) => void;
  /** How long a call waits for the server before failing retryably (default 5 minutes). */
  maxWaitMs?: number;
  poolSize?: number;
}

/** Any constant: serialises schema upgrades across every process using this database. */
const SCHEMA_LOCK = 0x7a5d_c47a;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS tasksd_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS tasksd_nodes (
    id TEXT PRIMARY KEY,
    dir TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  );
  -- v4: agents on several hosts may share a directory path; nodes get their URL and kind.
  ALTER TABLE tasksd_nodes DROP CONSTRAINT IF EXISTS tasksd_nodes_dir_key;
  ALTER TABLE tasksd_nodes ADD COLUMN IF NOT EXISTS url TEXT;
  ALTER TABLE tasksd_nodes ADD COLUMN IF NOT EXISTS kind TEXT NOT NULL DEFAULT 'embedded';
  -- v5: cordoned nodes take no new shards; fleet jobs page through their stored plans.
  ALTER TABLE tasksd_nodes ADD COLUMN IF NOT EXISTS cordoned BOOLEAN NOT NULL DEFAULT false;
  CREATE TABLE IF NOT EXISTS tasksd_fleet_plans (fleet_id TEXT PRIMARY KEY, summary TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS tasksd_fleet_moves (
    fleet_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    org TEXT NOT NULL,
    ns TEXT NOT NULL,
    from_node TEXT NOT NULL,
    to_node TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (fleet_id, seq)
  );
  CREATE TABLE IF NOT EXISTS tasksd_shards (
    org TEXT NOT NULL,
    ns TEXT NOT NULL,
    owner TEXT NOT NULL REFERENCES tasksd_nodes(id),
    epoch INTEGER NOT NULL DEFAULT 1,
    job_id TEXT,
    claim_from TEXT,
    claim_to TEXT,
    claimed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (org, ns)
  );
`;
const SHARD = 'org, ns, owner, job_id AS "jobId", epoch';
const NODE = 'id, dir, url, kind, cordoned';
const MOVE = 'org, ns, from_node AS "from", to_node AS "to", bytes::float8 AS bytes';
const CLAIM = `${SHARD}, claim_from AS "from", claim_to AS "to", claimed_at AS "claimedAt"`;

type Queryable = Pick<PoolClient, 'query'>;

export class PostgresCatalog implements Catalog {
  private constructor(
    private readonly pool: Pool,
    readonly location: string,
    readonly clusterId: string,
    private readonly options: PostgresOptions,
  ) {}

  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresCatalog> {
    const location = redactUrl(url);
    let pool: Pool;
    try {
      pool = new Pool({ connectionString: url, max: options.poolSize ?? 4, connectionTimeoutMillis: 5000 });
    } catch (err) {
      throw openFailure(location, err);
    }
    // An idle client whose server went away emits 'error'; the next query reports it.
    pool.on('error', () => {});
    try {
      const clusterId = await inTransaction(pool, (client) => upgrade(client));
      return new PostgresCatalog(pool, location, clusterId, options);
    } catch (err) {
      await pool.end().catch(() => {});
      throw err instanceof TasksdError ? err : openFailure(location, err);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async addNode(id: string, dir: string): Promise<NodeRecord> {
    return this.transaction(async (db) => {
      if ((await db.query('SELECT 1 FROM tasksd_nodes WHERE id = $1', [id])).rowCount) {
        throw new TasksdError(ErrorType.NodeExists, `node ${id} already exists`);
      }
      const taken = await db.query<{ id: string }>(`SELECT id FROM tasksd_nodes WHERE dir = $1 AND kind = 'embedded'`, [dir]);
      if (taken.rows[0]) throw new TasksdError(ErrorType.NodeExists, `directory ${dir} already belongs to node ${taken.rows[0].id}`);
      await db.query(`INSERT INTO tasksd_nodes (id, dir, kind) VALUES ($1, $2, 'embedded')`, [id, dir]);
      return { id, dir, url: null, kind: 'embedded' as const, cordoned: false };
    });
  }

  async registerNode(node: NodeRegistration, { replace = false } = {}): Promise<NodeRecord> {
    return this.transaction(async (db) => {
      const existing = (await db.query<NodeRecord>(`SELECT ${NODE} FROM tasksd_nodes WHERE id = $1 FOR UPDATE`, [node.id])).rows[0];
      const outcome = registrationOutcome(existing, node, replace);
      if (outcome === 'insert') {
        await db.query(`INSERT INTO tasksd_nodes (id, dir, url, kind) VALUES ($1, $2, $3, 'agent')`, [node.id, node.dir, node.url]);
      } else if (outcome === 'update') {
        await db.query(`UPDATE tasksd_nodes SET dir = $2, url = $3, kind = 'agent' WHERE id = $1`, [node.id, node.dir, node.url]);
      }
      // A restarted or replacing agent keeps the node's cordon.
      return { ...node, kind: 'agent' as const, cordoned: existing?.cordoned ?? false };
    });
  }

  async setEmbeddedUrl(id: string, url: string): Promise<void> {
    await this.rows(`UPDATE tasksd_nodes SET url = $2 WHERE id = $1 AND kind = 'embedded'`, [id, url]);
  }

  async findNode(id: string): Promise<NodeRecord | undefined> {
    return (await this.rows<NodeRecord>(`SELECT ${NODE} FROM tasksd_nodes WHERE id = $1`, [id]))[0];
  }

  async node(id: string): Promise<NodeRecord> {
    return (await this.findNode(id)) ?? Promise.reject(unknownNode(id));
  }

  async listNodes(): Promise<NodeRecord[]> {
    return this.rows<NodeRecord>(`SELECT ${NODE} FROM tasksd_nodes ORDER BY id`);
  }

  async setCordoned(id: string, cordoned: boolean): Promise<NodeRecord> {
    const [node] = await this.rows<NodeRecord>(`UPDATE tasksd_nodes SET cordoned = $2 WHERE id = $1 RETURNING ${NODE}`, [id, cordoned]);
    return node ?? Promise.reject(unknownNode(id));
  }

  async savePlan(fleetId: string, summary: string, moves: PlannedMove[]): Promise<string> {
    return this.transaction(async (db) => {
      const inserted = await db.query(
        'INSERT INTO tasksd_fleet_plans (fleet_id, summary) VALUES ($1, $2) ON CONFLICT (fleet_id) DO NOTHING',
        [fleetId, summary],
      );
      if (inserted.rowCount === 0) {
        return (await db.query<{ summary: string }>('SELECT summary FROM tasksd_fleet_plans WHERE fleet_id = $1', [fleetId])).rows[0].summary;
      }
      // One statement per thousand moves: a 10,000-shard plan is ten round trips, not ten thousand.
      for (let start = 0; start < moves.length; start += 1000) {
        const page = moves.slice(start, start + 1000);
        await db.query(
          `INSERT INTO tasksd_fleet_moves (fleet_id, seq, org, ns, from_node, to_node, bytes)
           SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])`,
          [fleetId, page.map((_, i) => start + i), page.map((m) => m.org), page.map((m) => m.ns), page.map((m) => m.from), page.map((m) => m.to), page.map((m) => m.bytes)],
        );
      }
      return summary;
    });
  }

  async readPlan(fleetId: string, offset: number, limit: number): Promise<PlannedMove[]> {
    return this.rows<PlannedMove>(`SELECT ${MOVE} FROM tasksd_fleet_moves WHERE fleet_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`, [
      fleetId,
      offset,
      limit,
    ]);
  }

  async dropPlan(fleetId: string): Promise<void> {
    await this.transaction(async (db) => {
      await db.query('DELETE FROM tasksd_fleet_moves WHERE fleet_id = $1', [fleetId]);
      await db.query('DELETE FROM tasksd_fleet_plans WHERE fleet_id = $1', [fleetId]);
    });
  }

  async findShard(org: string, ns: string): Promise<ShardRecord | undefined> {
    return (await this.rows<ShardRecord>(`SELECT ${SHARD} FROM tasksd_shards WHERE org = $1 AND ns = $2`, [org, ns]))[0];
  }

  async shard(org: string, ns: string): Promise<ShardRecord> {
    return (await this.findShard(org, ns)) ?? Promise.reject(unknownShard(org, ns));
  }

  async listShards(): Promise<ShardRecord[]> {
    return this.rows<ShardRecord>(`SELECT ${SHARD} FROM tasksd_shards ORDER BY org, ns`);
  }

  async insertShard(org: string, ns: string, owner: string): Promise<void> {
    try {
      await this.rows('INSERT INTO tasksd_shards (org, ns, owner) VALUES ($1, $2, $3)', [org, ns, owner]);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new TasksdError(ErrorType.ShardExists, `shard ${org}/${ns} already exists`);
      throw err;
    }
  }

  async deleteShard(org: string, ns: string): Promise<void> {
    await this.rows('DELETE FROM tasksd_shards WHERE org = $1 AND ns = $2', [org, ns]);
  }

  async listClaims(): Promise<ClaimRecord[]> {
    const rows = await this.rows<ClaimRecord & { claimedAt: Date | null }>(
      `SELECT ${CLAIM} FROM tasksd_shards WHERE job_id IS NOT NULL ORDER BY claimed_at, org, ns`,
    );
    return rows.map((row) => ({ ...row, claimedAt: row.claimedAt ? row.claimedAt.toISOString() : null }));
  }

  async claim(org: string, ns: string, jobId: string, route?: ClaimRoute): Promise<ShardRecord> {
    return this.transaction(async (db) => {
      const shard = (await db.query<ShardRecord>(`SELECT ${SHARD} FROM tasksd_shards WHERE org = $1 AND ns = $2 FOR UPDATE`, [org, ns])).rows[0];
      if (!shard) throw unknownShard(org, ns);
      if (shard.jobId && shard.jobId !== jobId) throw shardBusy(org, ns, shard.jobId);
      if (shard.jobId !== jobId) {
        await db.query('UPDATE tasksd_shards SET job_id = $3, claim_from = $4, claim_to = $5, claimed_at = now() WHERE org = $1 AND ns = $2', [
          org,
          ns,
          jobId,
          route?.from ?? null,
          route?.to ?? null,
        ]);
      } else if (route) {
        await db.query('UPDATE tasksd_shards SET claim_from = $3, claim_to = $4 WHERE org = $1 AND ns = $2 AND claim_to IS NULL', [
          org,
          ns,
          route.from,
          route.to,
        ]);
      }
      return { ...shard, jobId };
    });
  }

  async release(org: string, ns: string, jobId: string): Promise<void> {
    await this.rows(
      'UPDATE tasksd_shards SET job_id = NULL, claim_from = NULL, claim_to = NULL, claimed_at = NULL WHERE org = $1 AND ns = $2 AND job_id = $3',
      [org, ns, jobId],
    );
  }

  async flipOwner(org: string, ns: string, from: string, to: string, jobId: string): Promise<number | null> {
    const [flipped] = await this.rows<{ epoch: number }>(
      'UPDATE tasksd_shards SET owner = $4, epoch = epoch + 1 WHERE org = $1 AND ns = $2 AND owner = $3 AND job_id = $5 RETURNING epoch',
      [org, ns, from, to, jobId],
    );
    return flipped?.epoch ?? null;
  }

  async snapshot(): Promise<CatalogSnapshot> {
    return this.transaction(async (db) => ({
      clusterId: (await db.query<{ value: string }>(`SELECT value FROM tasksd_meta WHERE key = 'cluster_id'`)).rows[0].value,
      nodes: (await db.query<NodeRecord>(`SELECT ${NODE} FROM tasksd_nodes ORDER BY id`)).rows,
      shards: (await db.query<ShardRecord>(`SELECT ${SHARD} FROM tasksd_shards ORDER BY org, ns`)).rows,
    }));
  }

  async adopt(snapshot: CatalogSnapshot): Promise<AdoptResult> {
    return this.transaction(async (db) => {
      // The same lock as schema upgrades: two copies into one database take turns.
      await db.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      const theirs = (await db.query<{ value: string }>(`SELECT value FROM tasksd_meta WHERE key = 'cluster_id'`)).rows[0].value;
      const counts = await db.query<{ nodes: number; shards: number }>(
        'SELECT (SELECT count(*) FROM tasksd_nodes)::int AS nodes, (SELECT count(*) FROM tasksd_shards)::int AS shards',
      );
      const { nodes, shards } = counts.rows[0];
      if (theirs !== snapshot.clusterId && nodes + shards > 0) throw catalogConflict(this.location, theirs, nodes, shards, snapshot.clusterId);
      let changed = (await db.query(`UPDATE tasksd_meta SET value = $1 WHERE key = 'cluster_id' AND value <> $1`, [snapshot.clusterId])).rowCount ?? 0;
      for (const node of snapshot.nodes) {
        const put = await db.query(
          `INSERT INTO tasksd_nodes (id, dir, url, kind, cordoned) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET dir = EXCLUDED.dir, url = EXCLUDED.url, kind = EXCLUDED.kind, cordoned = EXCLUDED.cordoned
           WHERE tasksd_nodes.dir <> EXCLUDED.dir OR tasksd_nodes.url IS DISTINCT FROM EXCLUDED.url OR tasksd_nodes.kind <> EXCLUDED.kind
              OR tasksd_nodes.cordoned <> EXCLUDED.cordoned`,
          [node.id, node.dir, node.url, node.kind, node.cordoned ?? false],
        );
        changed += put.rowCount ?? 0;
      }
      for (const shard of snapshot.shards) {
        const put = await db.query(
          `INSERT INTO tasksd_shards (org, ns, owner, epoch) VALUES ($1, $2, $3, $4)
           ON CONFLICT (org, ns) DO UPDATE SET owner = EXCLUDED.owner, epoch = EXCLUDED.epoch
           WHERE tasksd_shards.owner <> EXCLUDED.owner OR tasksd_shards.epoch <> EXCLUDED.epoch`,
          [shard.org, shard.ns, shard.owner, shard.epoch],
        );
        changed += put.rowCount ?? 0;
      }
      return { nodes: snapshot.nodes.length, shards: snapshot.shards.length, changed };
    });
  }

  /** One statement, waiting out a server that is away. */
  private async rows<T extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.patiently(async () => (await this.pool.query<T>(sql, params)).rows);
  }

  private async transaction<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    return this.patiently(() => inTransaction(this.pool, fn));
  }

  /**
   * Retries `fn` while the server is away, with backoff up to 5 s. A statement that
   * failed with the connection may or may not have committed, so everything run here is
   * idempotent or conditional (the flip's compare-and-set fails a second time, and its
   * caller re-reads the owner).
   */
  private async patiently<T>(fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const maxWaitMs = this.options.maxWaitMs ?? 300_000;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isTransient(err)) throw err;
        const waited = Date.now() - started;
        if (waited >= maxWaitMs) throw stillUnavailable(this.location, waited, err);
        this.options.onWait?.(
          `waiting for the catalog at ${this.location} (${(err as Error).message}); attempt ${attempt}, ${Math.round(waited / 1000)} s so far`,
        );
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
  }
}

async function inTransaction<T>(pool: Pool, fn: (db: Queryable) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    broken = isTransient(err);
    if (!broken) await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Creates or upgrades the schema and returns the cluster id; callers hold a transaction. */
async function upgrade(db: Queryable): Promise<string> {
  await db.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
  // A catalog at the current version is only read: no DDL, no locks on its tables.
  if ((await db.query<{ t: string | null }>(`SELECT to_regclass('tasksd_meta') AS t`)).rows[0].t) {
    const meta = await db.query<{ key: string; value: string }>(`SELECT key, value FROM tasksd_meta WHERE key IN ('schema_version', 'cluster_id')`);
    const value = (key: string) => meta.rows.find((row) => row.key === key)?.value;
    const clusterId = value('cluster_id');
    if (Number(value('schema_version')) === SCHEMA_VERSION && clusterId) return clusterId;
  }
  await db.query(SCHEMA);
  await db.query(`INSERT INTO tasksd_meta (key, value) VALUES ('cluster_id', $1) ON CONFLICT (key) DO NOTHING`, [newClusterId()]);
  const version = await db.query<{ value: string }>(`SELECT value FROM tasksd_meta WHERE key = 'schema_version'`);
  const recorded = Number(version.rows[0]?.value ?? 0);
  if (recorded > SCHEMA_VERSION) {
    throw new TasksdError(
      ErrorType.CatalogUnavailable,
      `the catalog's schema is version ${recorded}, newer than this tasksd (${SCHEMA_VERSION}); upgrade tasksd`,
    );
  }
  await db.query(
    `INSERT INTO tasksd_meta (key, value) VALUES ('schema_version', $1)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value WHERE tasksd_meta.value <> EXCLUDED.value`,
    [String(SCHEMA_VERSION)],
  );
  const cluster = await db.query<{ value: string }>(`SELECT value FROM tasksd_meta WHERE key = 'cluster_id'`);
  return cluster.rows[0].value;
}
