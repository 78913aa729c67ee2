// The Job is the operator-visible record of one migration (docs/CONTRACT.md "The Job"). It lives in
// workflow state and travels as JSON, so this module stays free of Node imports:
// the workflow bundle imports it.

export const JOB_STATUSES = ['pending', 'locking', 'copying', 'replaying', 'released', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const MIGRATION_MODES = ['offline', 'online'] as const;
export type MigrationMode = (typeof MIGRATION_MODES)[number];

/** What starts a migration: the workflow input of `migrateShard`. */
export interface MigrationRequest {
  org: string;
  ns: string;
  to: string;
  /**
   * The owner the move expects (a fleet job's plan): refused with OwnerChanged, changing
   * nothing, when another node owns the shard by the time the move is prepared.
   */
  from?: string;
  mode?: MigrationMode;
  /** Online mode: the write pause (lock → unlock) to stay under, in ms (default 1000). */
  maxPauseMs?: number;
  /** Caps the copy at this many bytes per second (`--max-rate`); absent: as fast as disk and link allow. */
  maxBytesPerSecond?: number;
  /**
   * The cluster (its catalog's id) the job is for; clients fill it in. Without it the
   * first worker to take the job decides, which is only safe with one cluster per queue.
   */
  cluster?: string;
}

export interface Job {
  id: string;
  org: string;
  ns: string;
  from: string;
  to: string;
  status: JobStatus;
  error?: string;
  /** The error class of a failed job (docs/ERRORS.md), so scripts need not parse `error`. */
  errorType?: string;
  bytes: number;
  startedAt: string;
  finishedAt?: string;
  mode: MigrationMode;
  /** Write pause (lock → unlock) in milliseconds, once the shard was locked and released. */
  pauseMs?: number;
  /** Logical content checksum both copies agreed on at the barrier. */
  checksum?: string;
  /** The cluster whose catalog the job acts on. */
  cluster?: string;
}

export function isTerminal(status: JobStatus): boolean {
  return status === 'released' || status === 'failed';
}
