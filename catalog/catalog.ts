// The catalog: the cluster's nodes, its shards, which node owns each shard at which
// ownership epoch, and the claims that keep two moves of one shard apart. The owner
// column is the single source of truth for "who owns a shard"; flipping it is the
// commit point of a move. Two drivers implement this one interface (sqlite.ts, the
// embedded default; postgres.ts, for clusters of several machines), with the same
// semantics; nothing above this folder constructs a driver (open.ts picks one).

export interface NodeRecord {
  id: string;
  /** The node's directory on its own host. */
  dir: string;
  /** Where its agent answers; null until an embedded node is first served. */
  url: string | null;
  /** `embedded`: added with `tasksd node add`, served by the coordinator process; `agent`: a `tasksd node serve` of its own. */
  kind: NodeKind;
  /** A cordoned node takes no new shards: planners never target it and a move to it is refused (NodeCordoned). */
  cordoned: boolean;
}

export type NodeKind = 'embedded' | 'agent';

/** What a node agent says of itself when it registers. */
export interface NodeRegistration {
  id: string;
  dir: string;
  url: string;
}

export interface ShardRecord {
  org: string;
  ns: string;
  owner: string;
  /** The job that claims the shard (a move in progress), or null. */
  jobId: string | null;
  /** Bumped by every owner flip: a file handed over at epoch N is the owner's only while the catalog says N. */
  epoch: number;
}

/** A shard held by a job: where the job was moving it and since when (ISO time). */
export interface ClaimRecord extends ShardRecord {
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

/** One move of a fleet job's plan (fleet/plan.ts), stored so the job can page through it. */
export interface PlannedMove {
  org: string;
  ns: string;
  from: string;
  to: string;
  /** The shard's size when planned. */
  bytes: number;
}

/** A whole cluster as one catalog holds it: what `tasksd catalog copy` moves to another store. */
export interface CatalogSnapshot {
  clusterId: string;
  nodes: NodeRecord[];
  shards: ShardRecord[];
}

export interface AdoptResult {
  nodes: number;
  shards: number;
  /** Rows inserted or changed: 0 when the catalog already held exactly this. */
  changed: number;
}

export interface Catalog {
  /** This cluster's identity, made once when the catalog is created. */
  readonly clusterId: string;
  /** Where the catalog lives, for messages: a file path, or a URL without its password. */
  readonly location: string;
  close(): Promise<void>;

  /** An embedded node (served by the coordinator process); its directory must be no other node's. */
  addNode(id: string, dir: string): Promise<NodeRecord>;
  /**
   * A node agent registers itself: new ids are added; the same id at the same URL and
   * directory is a restart; another URL or directory is refused (NodeExists) unless
   * `replace`, which takes the id over.
   */
  registerNode(node: NodeRegistration, options?: { replace?: boolean }): Promise<NodeRecord>;
  /** Where the coordinator serves an embedded node now (a new port each start). */
  setEmbeddedUrl(id: string, url: string): Promise<void>;
  findNode(id: string): Promise<NodeRecord | undefined>;
  /** The node, or UnknownNode. */
  node(id: string): Promise<NodeRecord>;
  listNodes(): Promise<NodeRecord[]>;
  /** Marks a node as taking no new shards (or takes the mark off); UnknownNode if there is none. */
  setCordoned(id: string, cordoned: boolean): Promise<NodeRecord>;

  findShard(org: string, ns: string): Promise<ShardRecord | undefined>;
  /** The shard, or UnknownShard. */
  shard(org: string, ns: string): Promise<ShardRecord>;
  listShards(): Promise<ShardRecord[]>;
  /** A new shard at epoch 1; ShardExists if it is there. */
  insertShard(org: string, ns: string, owner: string): Promise<void>;
  /** Removes a shard row that was just inserted (its file could not be made durable). */
  deleteShard(org: string, ns: string): Promise<void>;

  /** Every shard a job holds, oldest claim first. */
  listClaims(): Promise<ClaimRecord[]>;
  /**
   * Claims the shard for one move: idempotent for the same job, refused (ShardBusy,
   * naming the holder) while another job holds it. The route is recorded by the claim
   * that takes the shard.
   */
  claim(org: string, ns: string, jobId: string, route?: ClaimRoute): Promise<ShardRecord>;
  /** Drops the claim if `jobId` holds it; a no-op otherwise. */
  release(org: string, ns: string, jobId: string): Promise<void>;
  /**
   * The commit point of a move, one compare-and-set: ownership passes from `from` to
   * `to` only while `from` owns the shard and `jobId` claims it, and the epoch goes up
   * by one. Returns the new epoch, or null when the condition did not hold (a stale,
   * repeated or foreign flip), in which case nothing changed.
   */
  flipOwner(org: string, ns: string, from: string, to: string, jobId: string): Promise<number | null>;

  /**
   * Stores a fleet job's plan once: a retried store keeps the plan stored first and
   * returns its summary, so the plan a job runs is fixed when it starts.
   */
  savePlan(fleetId: string, summary: string, moves: PlannedMove[]): Promise<string>;
  /** Moves `offset` to `offset + limit - 1` of a stored plan, in plan order. */
  readPlan(fleetId: string, offset: number, limit: number): Promise<PlannedMove[]>;
  /** Forgets a plan (its job has ended). */
  dropPlan(fleetId: string): Promise<void>;

  /** Every node and shard, with the cluster id. */
  snapshot(): Promise<CatalogSnapshot>;
  /**
   * Takes in another catalog's cluster (id, nodes, shards with owners and epochs), in
   * one transaction; idempotent. Refused (CatalogConflict) when this catalog already
   * holds nodes or shards of a different cluster. This instance's clusterId is the
   * one it opened with: reopen to see the adopted one.
   */
  adopt(snapshot: CatalogSnapshot): Promise<AdoptResult>;
}
