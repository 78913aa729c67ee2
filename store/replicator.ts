// Every change to a shard is a frame with a per-shard, strictly increasing seq,
// applied through a Replicator. The local driver applies frames synchronously to
// the owner's file; another driver (e.g. consensus across replicas) implements
// this same interface and the migration code does not change.

export interface TaskInput {
  id: string;
  title: string;
  body?: Buffer | null;
}

export type Frame =
  | { op: 'put'; org: string; ns: string; task: TaskInput }
  | { op: 'delete'; org: string; ns: string; id: string }
  /** The migration barrier: once accepted the shard refuses writes. */
  | { op: 'lock'; org: string; ns: string; jobId: string }
  /** Ends the barrier; with `handoff`, ownership passes to `handoff.to` first. */
  | { op: 'unlock'; org: string; ns: string; jobId: string; handoff?: { from: string; to: string } };

export interface Applied {
  /** The seq the frame was applied at (for an idempotent re-proposal, the original seq). */
  seq: number;
  /**
   * Wall-clock ms when the frame took effect, when the driver has work left after that
   * moment (a hand-off removes the old file once writes are accepted again).
   */
  at?: number;
}

export interface Replicator {
  propose(frame: Frame): Promise<Applied>;
}
