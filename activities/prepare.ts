// The checks a migration makes before it touches anything, then the claim that makes
// it the only migration of this shard. Every refusal here leaves the cluster as it
// was: nothing is claimed until every check has passed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../common/errors';
import { parseMigrationRequest } from '../common/validation';
import type { Cluster } from '../store/cluster';
import { fileSize } from '../store/durable-fs';
import { incomingFile, shardFile } from '../store/layout';
import { openShardFile, readState } from '../store/shard-file';
import { Context } from '@temporalio/activity';
import { structuralProblems } from '../store/sqlite-thread';
import { checkCluster } from './cluster-guard';
import { heartbeatWhile } from './heartbeat';
import type { PrepareInput, Prepared } from './types';

export interface PrepareOptions {
  /** Free bytes in a node's directory; tests inject a number instead of filling a disk. */
  freeBytes?: (dir: string) => number;
}

export const DEFAULT_MAX_PAUSE_MS = 1000;
/** Free space wanted on the destination beyond the shard's size (SQLite side files, fs metadata). */
const SPACE_HEADROOM = 1.1;

export async function prepareMigration(
  cluster: Cluster,
  { jobId, request }: PrepareInput,
  { freeBytes = freeBytesOf }: PrepareOptions = {},
): Promise<Prepared> {
  const { org, ns, to, mode = 'offline', maxPauseMs = DEFAULT_MAX_PAUSE_MS, cluster: wanted } = parseMigrationRequest(request);
  checkCluster(cluster, jobId, wanted);
  const shard = await cluster.catalog.shard(org, ns);
  const dest = await cluster.catalog.node(to);
  const claimedByUs = shard.jobId === jobId;
  if (shard.jobId && !claimedByUs) await cluster.catalog.claim(org, ns, jobId); // throws ShardBusy naming the holder
  // prepare completes before any other phase, so even a re-run finds the owner unchanged.
  if (shard.owner === to) {
    throw new TasksdError(ErrorType.SameNode, `shard ${org}/${ns} is already on node ${to}; pick another destination`);
  }
  const from = shard.owner;
  const sourceFile = await cluster.fileOn(from, org, ns);
  const sourceBytes = (fileSize(sourceFile) ?? 0) + (fileSize(`${sourceFile}-wal`) ?? 0);

  checkDestinationDir(dest.dir, to);
  const finalPath = shardFile(dest.dir, org, ns);
  if (!claimedByUs && fs.existsSync(finalPath)) {
    throw new TasksdError(
      ErrorType.DestinationOccupied,
      `node ${to} already has a file for shard ${org}/${ns} (${finalPath}); remove it or pick another node`,
    );
  }
  checkNotLocked(sourceFile, org, ns, jobId);
  const free = freeBytes(dest.dir);
  const needed = Math.ceil(sourceBytes * SPACE_HEADROOM);
  if (free < needed) {
    throw new TasksdError(
      ErrorType.InsufficientSpace,
      `node ${to} has ${free} bytes free in ${dest.dir} but shard ${org}/${ns} needs ${needed}; free space or pick another node`,
    );
  }

  await checkIntegrity(sourceFile, org, ns);

  await cluster.catalog.claim(org, ns, jobId, { from, to });
  // The claim proves no other job is moving this shard: an .incoming left by a
  // crashed, abandoned job is garbage.
  if (!claimedByUs) fs.rmSync(incomingFile(dest.dir, org, ns), { force: true });
  return { org, ns, from, to, mode, maxPauseMs, sourceBytes, cluster: cluster.catalog.clusterId };
}

/** Proves the directory takes a new file by making one: permission bits alone say nothing to root. */
function checkDestinationDir(dir: string, node: string): void {
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

/** Refuses to spread a damaged source: quick_check reads every page, so it runs off the main thread. */
async function checkIntegrity(file: string, org: string, ns: string): Promise<void> {
  const problems = await heartbeatWhile(structuralProblems(file, Context.current().cancellationSignal));
  if (problems.length > 0) {
    throw new TasksdError(
      ErrorType.SourceCorrupt,
      `source shard ${org}/${ns} at ${file} fails PRAGMA quick_check (${problems.slice(0, 3).join('; ')}); ` +
        'refusing to copy a damaged shard, restore it from a backup first',
    );
  }
}

function freeBytesOf(dir: string): number {
  const stats = fs.statfsSync(dir);
  return stats.bavail * stats.bsize;
}
