// Error classes an operator can see (as ApplicationFailure types and CLI messages).
// Each names one cause; docs/ERRORS.md lists what each means and what to do.
export const ErrorType = {
  InvalidInput: 'InvalidInput',
  UnknownShard: 'UnknownShard',
  UnknownNode: 'UnknownNode',
  SameNode: 'SameNode',
  ShardBusy: 'ShardBusy',
  ShardLocked: 'ShardLocked',
  DestinationOccupied: 'DestinationOccupied',
  DestinationUnwritable: 'DestinationUnwritable',
  InsufficientSpace: 'InsufficientSpace',
  SourceCorrupt: 'SourceCorrupt',
  VerificationFailed: 'VerificationFailed',
  ShardMissing: 'ShardMissing',
  ShardExists: 'ShardExists',
  NodeExists: 'NodeExists',
  UnknownJob: 'UnknownJob',
  PauseBudgetExceeded: 'PauseBudgetExceeded',
  /** A task reached a worker of another cluster: retried, so one of the right cluster takes it. */
  WrongCluster: 'WrongCluster',
  /** The catalog does not answer (PostgreSQL down or restarting): retried while it comes back. */
  CatalogUnavailable: 'CatalogUnavailable',
  /** A catalog copy would overwrite another cluster's catalog. */
  CatalogConflict: 'CatalogConflict',
  /** Only ever a failed job's errorType: an operator cancelled it and it rolled back. */
  Cancelled: 'Cancelled',
  /** A node agent refused a request without the cluster token (TASKSD_CLUSTER_TOKEN): fix the configuration. */
  Unauthorized: 'Unauthorized',
  /** A node agent was asked to write or read a shard another node owns now: the answer names the owner; retried there. */
  Moved: 'Moved',
  /** A node agent no longer pins the snapshot a copy was reading (restarted, idle, written since): the copy starts over. */
  SnapshotChanged: 'SnapshotChanged',
  /** A node agent did not answer (refused, reset, timed out, TLS failure): retried while it comes back. */
  NodeUnreachable: 'NodeUnreachable',
  /** A node agent failed unexpectedly (its log has the cause): retried. */
  AgentError: 'AgentError',
  /** The task is not in the shard. */
  UnknownTask: 'UnknownTask',
  /** A move to a cordoned node: it takes no new shards until `tasksd node uncordon`. */
  NodeCordoned: 'NodeCordoned',
  /** A planned move whose shard another node owns now (moved since the plan was made): skipped. */
  OwnerChanged: 'OwnerChanged',
  /** A drain or rebalance with no node that may take shards (every other node cordoned, or none). */
  NoDestination: 'NoDestination',
  /** A second fleet job (drain, rebalance) while one runs on the cluster. */
  FleetBusy: 'FleetBusy',
} as const;
export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

/** Retrying cannot fix these: the workflow fails the job and rolls back at once. */
export const NON_RETRYABLE_ERROR_TYPES: string[] = Object.values(ErrorType).filter(
  (t) =>
    t !== ErrorType.ShardLocked &&
    t !== ErrorType.WrongCluster &&
    t !== ErrorType.CatalogUnavailable &&
    t !== ErrorType.Moved &&
    t !== ErrorType.SnapshotChanged &&
    t !== ErrorType.NodeUnreachable &&
    t !== ErrorType.AgentError,
);

/** A domain error with a stable type; activities turn it into a non-retryable failure. */
export class TasksdError extends Error {
  constructor(
    readonly type: ErrorTypeName,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}
