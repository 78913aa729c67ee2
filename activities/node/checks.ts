// What a node checks of its own side before a move claims anything: the source that it
// is sound and not held by another job, the destination that it can take the copy.
// Every refusal leaves the cluster as it was.
import { Context } from '@temporalio/activity';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../../common/errors';
import { fileSize } from '../../store/durable-fs';
import { openShardFile, readState } from '../../store/shard-file';
import { inspectFile, type Damage } from '../../store/sqlite-thread';
import { heartbeatWhile } from '../heartbeat';

/** Free space wanted on the destination beyond the shard's size (SQLite side files, fs metadata). */
const SPACE_HEADROOM = 1.1;

/**
 * The source file's size (main file and WAL), once it is known to be sound and free.
 * Sound is proven here, before anything is locked, and only here: SQLite's quick_check
 * and a scan that its rows add up to its state row (damage quick_check cannot see),
 * on two threads at once. The copy is then proven byte for byte by SHA-256 while it
 * streams, so the destination never reads it again.
 */
export async function inspectSourceFile(file: string, org: string, ns: string, jobId: string, node: string): Promise<number> {
  checkNotLocked(file, org, ns, jobId);
  const inspected = await heartbeatWhile(inspectFile(file, Context.current().cancellationSignal));
  if (inspected.damage) throw new TasksdError(ErrorType.SourceCorrupt, sourceDamaged(`source shard ${org}/${ns} at ${file} on node ${node}`, inspected.damage));
  return (fileSize(file) ?? 0) + (fileSize(`${file}-wal`) ?? 0);
}

function sourceDamaged(source: string, damage: Damage): string {
  if (damage.kind === 'structure') {
    return `${source} fails PRAGMA quick_check (${damage.problems.slice(0, 3).join('; ')}); refusing to copy a damaged shard, restore it from a backup first`;
  }
  const { rows, sum, storedRows, storedSum } = damage.scan;
  return (
    `${source} is damaged: its rows add up to ${rows} rows with content checksum ${sum}, but its state row records ` +
    `${storedRows} rows with ${storedSum} (a change on disk that SQLite did not make); refusing to copy a damaged shard, ` +
    'restore it from a backup first (nothing was changed)'
  );
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
