// The file side of a hand-off, one step per function so each runs on the node that
// holds the file (docs/NODES.md): the new owner unlocks at the epoch the catalog's flip
// gave it; the old owner marks its file moved (a writer still holding it is refused
// inside its transaction) and removes it, or keeps it under a name no command reports
// as a shard. Every step is skipped when already done, so a retry finishes the job.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../common/errors';
import { fsyncDir, removeDatabaseFiles } from './durable-fs';
import { retainedFile } from './layout';
import type { Applied } from './replicator';
import { inWriteTransaction, openShardFile, readState, type ShardDb } from './shard-file';

/** The new owner's file stops refusing writes, at `epoch` (its fencing token). */
export function unlockAsOwner(file: string, jobId: string, epoch: number): Applied & { unlocked: boolean } {
  const db = openShardFile(file);
  try {
    const state = readState(db);
    if (state.lockedBy !== jobId && state.epoch !== epoch) {
      throw new TasksdError(ErrorType.VerificationFailed, `${file} is not held by job ${jobId}; refusing to make it the owner`);
    }
    const applied = inWriteTransaction(db, () => releaseLock(db, jobId, epoch));
    return { ...applied, at: Date.now(), unlocked: state.lockedBy === jobId };
  } finally {
    db.close();
  }
}

/** Checks that the destination copy is this job's before the catalog hands it the shard. */
export function assertHeldBy(file: string, jobId: string): void {
  const db = openShardFile(file);
  try {
    if (readState(db).lockedBy !== jobId) {
      throw new TasksdError(ErrorType.VerificationFailed, `destination ${file} is not held by job ${jobId}; refusing to hand off`);
    }
  } finally {
    db.close();
  }
}

/**
 * The old owner's file is marked moved, then removed (or kept, renamed, when
 * `retain`). Returns whether there was anything to retire. `afterMark` runs between
 * the two (a fault point).
 */
export async function retireFile(
  file: string,
  to: string,
  jobId: string,
  { retain = false, afterMark }: { retain?: boolean; afterMark?: () => Promise<void> } = {},
): Promise<boolean> {
  // A retry after a crash mid-removal still clears the -wal/-shm left behind.
  if (!fs.existsSync(file)) {
    removeDatabaseFiles(file);
    return false;
  }
  const db = openShardFile(file);
  try {
    const { org, ns } = readState(db);
    inWriteTransaction(db, () => db.prepare(`UPDATE shard SET state = 'moved', moved_to = ? WHERE singleton = 1`).run(to));
    if (afterMark) {
      db.close(); // nothing of ours held open while a fault point holds the step
      await afterMark();
    }
    if (retain) {
      if (!db.open) return await retireFile(file, to, jobId, { retain }); // reopens; marking again is a no-op
      // Every frame must be in the main file before its -wal is dropped below.
      const [{ busy }] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      if (busy !== 0) throw new Error(`could not checkpoint ${file} before keeping it; will retry`);
      db.close();
      const dir = path.dirname(file);
      fs.renameSync(file, retainedFile(dir, org, ns, jobId));
      removeDatabaseFiles(file);
      fsyncDir(dir);
      return true;
    }
  } finally {
    if (db.open) db.close();
  }
  removeDatabaseFiles(file);
  return true;
}

/** Lifts the job's lock (a no-op when it holds none); a hand-off also records the new epoch. */
export function releaseLock(db: ShardDb, jobId: string, epoch?: number): Applied {
  const state = readState(db);
  if (state.lockedBy !== jobId) return { seq: state.seq };
  const seq = state.seq + 1;
  db.prepare('UPDATE shard SET seq = ?, locked_by = NULL, lock_seq = NULL, epoch = ? WHERE singleton = 1').run(seq, epoch ?? state.epoch);
  return { seq };
}
