// The store side of a move's copy, both ends. The source pins a consistent snapshot:
// offline the locked shard checkpointed, online a reader on an empty WAL that freezes
// the main file while writers go on appending to the WAL (SQLITE-COPY.md). The
// destination's copy lands as "<shard>.incoming" (transport/pull-copy.ts), is
// fsynced and proven there by the SHA-256 both ends computed while it streamed (no
// second read: the source proves the snapshot's structure and rows while it serves
// it, agent/snapshots.ts, and the copy is byte for byte that snapshot), is marked as held by the job (so it never accepts
// writes before the cut-over), and only then is renamed into place.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../common/errors';
import { fileSize, fsyncDir, fsyncFile } from './durable-fs';
import { checkpointFully, type CheckpointOptions } from './checkpoint';
import { openShardFile, readState, type ShardDb } from './shard-file';
import { sameContent, storedFingerprint } from './verify';

/** What installing a copy needs to know of its job. */
export interface CopyJob {
  org: string;
  ns: string;
  jobId: string;
  copy?: { signal?: AbortSignal };
}

export interface ShardCopyResult {
  bytes: number;
  seq: number;
  rows: number;
}

const SNAPSHOT_ATTEMPTS = 50;

/** A destination file this job already installed (a re-run after a crash) is the result. */
export function alreadyInstalled(finalPath: string, jobId: string): ShardCopyResult | undefined {
  if (!fs.existsSync(finalPath)) return undefined;
  const db = openShardFile(finalPath, { readonly: true });
  try {
    const state = readState(db);
    if (state.lockedBy !== jobId) {
      throw new TasksdError(ErrorType.DestinationOccupied, `destination already has a shard file ${finalPath} that job ${jobId} did not write; remove it or pick another node`);
    }
    const { seq, rows } = storedFingerprint(db);
    fsyncDir(path.dirname(finalPath)); // a crash between the rename and its fsync is finished here
    return { bytes: fileSize(finalPath) ?? 0, seq, rows };
  } finally {
    db.close();
  }
}

/** Other connections (on other threads) that take the same snapshot: see snapshot-proof.ts. */
export interface SnapshotJoiner {
  /** Resolves once they can begin. */
  ready(): Promise<void>;
  /** Begins their read transactions, without yielding to the event loop (no writer of this process gets in); the seq each sees. */
  begin(): number[];
  /** Ends them (the attempt did not hold). */
  end(): Promise<void>;
}

/**
 * Opens a read transaction on an empty WAL. While it stays open SQLite cannot
 * checkpoint into the main file, so the main file is a frozen, consistent snapshot.
 * `joining` connections begin theirs on the same empty WAL, so they read exactly the
 * same bytes. Exported for the node agent's snapshot pins (agent/snapshots.ts).
 */
export async function beginSnapshot(
  db: ShardDb,
  req: { sourceFile: string; onWait?: CheckpointOptions['onWait']; copy?: { signal?: AbortSignal }; joining?: SnapshotJoiner },
): Promise<{ seq: number; rows: number }> {
  const file = req.sourceFile;
  await req.joining?.ready();
  for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
    await checkpointFully(db, file, checkpointOptions(req));
    db.exec('BEGIN');
    const { seq, rows } = readState(db);
    const snapshot = { seq, rows };
    // Other connections begin their reads now, inside this one's.
    const joined = req.joining ? req.joining.begin().every((theirs) => theirs === seq) : true;
    // Checked after every read began: the WAL only empties by a checkpoint, which none of
    // them lets through, so empty now means empty when each began: each reads the main file alone.
    if (joined && (fileSize(`${file}-wal`) ?? 0) === 0) return snapshot;
    db.exec('COMMIT');
    await req.joining?.end();
  }
  throw new Error(`could not take a snapshot of ${file}: writers kept the WAL busy for ${SNAPSHOT_ATTEMPTS} attempts, will retry`);
}

function checkpointOptions(req: { onWait?: CheckpointOptions['onWait']; copy?: { signal?: AbortSignal } }): CheckpointOptions {
  return { onWait: req.onWait, signal: req.copy?.signal };
}

export async function install(
  incoming: string,
  finalPath: string,
  req: CopyJob,
  expected: { seq: number; rows: number },
  { afterRename }: { afterRename?: () => Promise<void> } = {},
): Promise<void> {
  const what = `copy of ${req.org}/${req.ns} at ${incoming}`;
  const db = openShardFile(incoming);
  try {
    const state = readState(db);
    if (state.org !== req.org || state.ns !== req.ns) {
      throw new TasksdError(ErrorType.VerificationFailed, `${what} holds shard ${state.org}/${state.ns}`);
    }
    // The snapshot's own state row, as the source described it when pinning (O(1)).
    sameContent(what, expected, storedFingerprint(db));
    // Held by the job from now on: the copy must refuse writes until the cut-over.
    db.prepare('UPDATE shard SET locked_by = ? WHERE singleton = 1').run(req.jobId);
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  fsyncFile(incoming); // the verified bytes are on disk before the name points at them
  for (const side of ['-wal', '-shm']) fs.rmSync(incoming + side, { force: true });
  // A stale WAL beside the final name would be replayed into the new file.
  for (const side of ['-wal', '-shm']) fs.rmSync(finalPath + side, { force: true });
  req.copy?.signal?.throwIfAborted(); // a cancelled job's rollback may already be running: do not install
  fs.renameSync(incoming, finalPath);
  await afterRename?.(); // a fault point: renamed, the directory not yet fsynced
  fsyncDir(path.dirname(finalPath)); // the rename itself survives a power loss
}
