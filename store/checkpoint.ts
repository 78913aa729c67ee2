// Checkpointing a shard's WAL into its main file before the file is copied. A reader
// holding a read transaction (a sqlite3 shell, a backup tool, a long report) pins the
// WAL, and the checkpoint cannot finish until it lets go. SQLite's own busy wait would
// hold the event loop for the whole time, so no heartbeat would be sent and the
// activity would die of a heartbeat timeout with the cause only in the worker's log.
// Instead each attempt waits briefly in SQLite, and between attempts the wait is
// reported (onWait) and bounded: past the limit the move fails naming the cause.
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorType, TasksdError } from '../common/errors';
import type { ShardDb } from './shard-file';

/** How long a checkpoint may wait for readers, in ms (default 30 s). */
export const CHECKPOINT_WAIT_ENV = 'TASKSD_CHECKPOINT_WAIT_MS';
const DEFAULT_WAIT_MS = 30_000;
/** Long enough to get past a writer's short transaction, short enough not to stall heartbeats. */
const ATTEMPT_BUSY_MS = 100;
const RETRY_EVERY_MS = 250;

export interface CheckpointOptions {
  /** Overrides TASKSD_CHECKPOINT_WAIT_MS. */
  waitLimitMs?: number;
  /** Told what the checkpoint is waiting for while it waits, then undefined once it is through. */
  onWait?: (waiting: string | undefined) => void;
  signal?: AbortSignal;
}

/** Moves every WAL frame into the main file and empties the WAL, waiting (bounded) for readers. */
export async function checkpointFully(db: ShardDb, file: string, options: CheckpointOptions = {}): Promise<void> {
  const limitMs = options.waitLimitMs ?? checkpointWaitLimit();
  const started = Date.now();
  const busyTimeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma(`busy_timeout = ${ATTEMPT_BUSY_MS}`);
  try {
    for (let waited = false; ; waited = true) {
      options.signal?.throwIfAborted();
      const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      if (result.busy === 0) {
        if (waited) options.onWait?.(undefined);
        return;
      }
      const seconds = Math.floor((Date.now() - started) / 1000);
      if (Date.now() - started >= limitMs) {
        throw new TasksdError(
          ErrorType.ShardBusy,
          `the checkpoint of ${file} was blocked for ${seconds} s by a reader holding the WAL (an open read transaction: ` +
            `a sqlite3 shell, a backup, a long query); close that reader and retry the migration ` +
            `(the limit is ${CHECKPOINT_WAIT_ENV}=${limitMs})`,
        );
      }
      options.onWait?.(`checkpoint of ${file} blocked by a reader holding the WAL for ${seconds} s (gives up after ${Math.round(limitMs / 1000)} s)`);
      await sleep(RETRY_EVERY_MS, undefined, { signal: options.signal }).catch((err: unknown) => {
        throw options.signal?.aborted ? options.signal.reason : err; // a cancelled job stops with its own reason
      });
    }
  } finally {
    db.pragma(`busy_timeout = ${busyTimeout}`);
  }
}

function checkpointWaitLimit(): number {
  const raw = process.env[CHECKPOINT_WAIT_ENV];
  if (raw === undefined || raw === '') return DEFAULT_WAIT_MS;
  if (!/^\d{1,9}$/.test(raw)) {
    throw new TasksdError(ErrorType.InvalidInput, `${CHECKPOINT_WAIT_ENV}=${JSON.stringify(raw).slice(0, 100)} is not a whole number of milliseconds`);
  }
  return Number(raw);
}
