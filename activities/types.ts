// What the workflow passes to and gets back from each activity. Type-only for the
// workflow bundle; every activity takes the job's identity so it can be idempotent.
import type { MigrationMode } from '../common/job';

export interface PrepareInput {
  jobId: string;
  /** The raw workflow input: re-validated here, since the Temporal CLI bypasses the client. */
  request: unknown;
}

export interface Prepared {
  org: string;
  ns: string;
  from: string;
  to: string;
  mode: MigrationMode;
  maxPauseMs: number;
  sourceBytes: number;
  /** The cluster whose catalog holds the claim: every later step runs there. */
  cluster: string;
}

export interface JobRef {
  jobId: string;
  org: string;
  ns: string;
  from: string;
  to: string;
  mode: MigrationMode;
  cluster: string;
}

export interface LockResult {
  barrierSeq: number;
  /** Wall-clock ms when the barrier was in place: the start of the write pause. */
  lockedAt: number;
}

export interface UnlockResult {
  seq: number;
  /** Wall-clock ms when writes were accepted again: the end of the write pause. */
  unlockedAt: number;
}

export interface CopyResult {
  bytes: number;
  seq: number;
  rows: number;
}

export interface CatchUpResult {
  frames: number;
  /** Frames written to the source since this pass read it: what a locked replay would still apply. */
  backlog: number;
  /** Milliseconds this pass took per applied frame (to predict the locked replay). */
  msPerFrame: number;
  /**
   * The pass's whole store work in ms (open, replay, close): about what each cut-over
   * step costs. Absent in results recorded before it was measured.
   */
  elapsedMs?: number;
}

export interface ReplayResult {
  frames: number;
  seq: number;
  rows: number;
  checksum: string;
}

export interface RollbackResult {
  /** 'already-released' when the owner had flipped: a move past its commit point is kept. */
  outcome: 'rolled-back' | 'already-released';
  /** What the rollback changed, in words, for repair reports (empty when nothing needed doing). */
  changes?: string[];
}

/** How a job holding a claim stands in Temporal. */
export type JobState = { state: 'running' } | { state: 'closed'; how: string; closedAt: number } | { state: 'missing' };

export interface ReconcileInput {
  cluster: string;
  /** Only this shard (repair of one shard); every claim when absent. */
  org?: string;
  ns?: string;
  /** A job must have ended this long ago before its claim is reconciled: its activities may still be stopping. */
  graceMs: number;
}

export interface ReconcileAction {
  org: string;
  ns: string;
  jobId: string;
  /** How the job ended: "terminated", "timed out", "not found in Temporal", … */
  jobEnded: string;
  outcome: 'rolled-back' | 'finished' | 'waiting';
  /** What was done, in words; for `waiting`, why not yet. */
  changes: string[];
  /** For `waiting`: how long until it may act. */
  waitMs?: number;
}

export interface ReconcileReport {
  cluster: string;
  /** Claims looked at. */
  claims: number;
  actions: ReconcileAction[];
}

export interface CopyHeartbeat {
  bytesCopied: number;
  totalBytes: number;
  /** What the copy is waiting for, e.g. a checkpoint blocked by a reader (shown in the Web UI's pending activity). */
  waiting?: string;
}
