// What a node checks of its own side before a move claims anything: the source that it
// exists and is not held by another job, the destination that it can take the copy.
// Every refusal leaves the cluster as it was.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../../common/errors';
import { fileSize } from '../../store/durable-fs';
import { openShardFile, readState } from '../../store/shard-file';

/** Free space wanted on the destination beyond the shard's size (SQLite side files, fs metadata). */
const SPACE_HEADROOM = 1.1;

/**
 * The source file's size (main file and WAL), once it is known to exist and to be free.
 * Cheap on purpose: nothing here reads the shard. That it is sound is proven by the
 * source agent while it serves the copy (agent/snapshots.ts: quick_check and a scan
 * that its rows add up to its state row, over exactly the pinned bytes), and the
 * destination's digest request waits for that proof; a damaged source fails the move
 * there, as SourceCorrupt, and the move rolls back.
 */
export function inspectSourceFile(file: string, org: string, ns: string, jobId: string): number {
  if (!fs.existsSync(file)) throw new TasksdError(ErrorType.ShardMissing, `shard file ${file} does not exist`);
  checkNotLocked(file, org, ns, jobId);
  return (fileSize(file) ?? 0) + (fileSize(`${file}-wal`) ?? 0);
}

/** A lock left in the shard file by another job (one the catalog does not know of) would block the move forever. */
function checkNotLocked(file: string, org: string, ns: string, jobId: string): void {
  const db = openShardFile(file);
  try {
    const { lockedBy } = readState(db);
    if (lockedBy && lockedBy !== jobId) {
      throw new TasksdError(
        ErrorType.ShardBusy,
        `shard ${org}/${ns} is locked by migration ${lockedBy}; wait for it or cancel it with "tasksd cancel ${lockedBy}"`,
      );
    }
  } finally {
    db.close();
  }
}

export interface DestinationCheck {
  node: string;
  dir: string;
  finalPath: string;
  org: string;
  ns: string;
  jobId: string;
  sourceBytes: number;
  freeBytes: (dir: string) => number;
}

/** The directory takes files, holds no other copy of this shard, and has room for it. */
export function checkDestinationSide(c: DestinationCheck): void {
  checkWritable(c.dir, c.node);
  if (fs.existsSync(c.finalPath) && heldBy(c.finalPath) !== c.jobId) {
    throw new TasksdError(
      ErrorType.DestinationOccupied,
      `node ${c.node} already has a file for shard ${c.org}/${c.ns} (${c.finalPath}); remove it or pick another node`,
    );
  }
  const free = c.freeBytes(c.dir);
  const needed = Math.ceil(c.sourceBytes * SPACE_HEADROOM);
  if (free < needed) {
    throw new TasksdError(
      ErrorType.InsufficientSpace,
      `node ${c.node} has ${free} bytes free in ${c.dir} but shard ${c.org}/${c.ns} needs ${needed}; free space or pick another node`,
    );
  }
}

/** Proves the directory takes a new file by making one: permission bits alone say nothing to root. */
function checkWritable(dir: string, node: string): void {
  const probe = path.join(dir, `.tasksd-probe-${process.pid}`);
  try {
    if (!fs.statSync(dir).isDirectory()) throw new Error('not a directory');
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (err) {
    throw new TasksdError(
      ErrorType.DestinationUnwritable,
      `node ${node}'s directory ${dir} is missing or not writable (${(err as Error).message}); fix it or pick another node`,
    );
  }
}

/** The job a shard file is held by (its lock), or null; an unreadable file is held by nobody we know. */
export function heldBy(file: string): string | null {
  try {
    const db = openShardFile(file);
    try {
      return readState(db).lockedBy;
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}

export function freeBytesOf(dir: string): number {
  const stats = fs.statfsSync(dir);
  return stats.bavail * stats.bsize;
}
