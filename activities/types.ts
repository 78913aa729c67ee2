// What the workflow passes to and gets back from each activity. Type-only for the
// workflow bundle; every activity takes the job's identity so it can be idempotent.
import type { MigrationMode } from '../common/job';

export interface PrepareInput {
  jobId: string;
  /** The raw workflow input: re-validated here, since the Temporal CLI bypasses the client. */
  request: unknown;
}

/** What the coordinator resolved from a request: the route, the cluster, the limits. */
export interface Prepared {
  org: string;
  ns: string;
  from: string;
  to: string;
  mode: MigrationMode;
  maxPauseMs: number;
  /** The copy's rate cap (bytes per second); absent: as fast as the disk and link allow. */
  maxBytesPerSecond?: number;
  /** The cluster whose catalog holds the claim: every later step runs there. */
  cluster: string;
}

/** The source's size, measured before anything is claimed. */
export interface SourceInspection {
  bytes: number;
}

/** A snapshot the source agent pinned for the job's copy. */
export interface SnapshotPin {
  snapshotId: string;
  size: number;
  seq: number;
  rows: number;
}

/** The commit point's result: the epoch the new owner holds the shard at. */
export interface HandOffResult {
  epoch: number;
}

/** What a rollback or repair step changed, in words (empty when it found nothing to do). */
export interface StepChanges {
  changes: string[];
}

/** A claim whose job is over: what the reconciler undoes or finishes. */
export interface Orphan {
  ref: JobRef;
  /** How the job ended: "terminated", "timed out", "not found in Temporal", … */
  jobEnded: string;
  /** True when the owner had already flipped: the move is finished, not undone. */
  flipped: boolean;
}

export interface OrphanScan {
  claims: number;
  orphans: Orphan[];
  /** Jobs that ended too recently to act on yet. */
  waiting: ReconcileAction[];
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
  /** SHA-256 of the copied file, equal on both ends. */
  sha256?: string;
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
  /** The source's snapshot these bytes came from: a retry resumes only while the source still pins it. */
  snapshotId?: string;
}
