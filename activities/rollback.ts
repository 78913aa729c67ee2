// Compensation: undo what a failed or cancelled job did, so the source stays the
// owner, unlocked and writable, with nothing of the job left on the destination.
// A job past its commit point (the owner already flipped) is finished, never undone.
// The same function reconciles jobs that ended without running it (activities/
// reconcile.ts), so it says what it changed.
import * as fs from 'node:fs';
import type { Cluster } from '../store/cluster';
import { incomingFile, shardFile } from '../store/layout';
import type { Replicator } from '../store/replicator';
import { removeCopies } from '../store/shard-copy';
import { openShardFile, readState } from '../store/shard-file';
import type { JobRef, RollbackResult } from './types';

export async function rollbackMigration(cluster: Cluster, replicator: Replicator, job: JobRef): Promise<RollbackResult> {
  const { org, ns, jobId } = job;
  const shard = await cluster.catalog.shard(org, ns);
  const claimed = shard.jobId === jobId;
  const changes: string[] = [];
  if (shard.owner === job.to) {
    const destLocked = lockedBy(await cluster.fileOn(job.to, org, ns)) === jobId;
    const sourceLeft = fs.existsSync(await cluster.fileOn(job.from, org, ns));
    await replicator.propose({ op: 'unlock', org, ns, jobId, handoff: { from: job.from, to: job.to } });
    if (destLocked) changes.push(`unlocked ${org}/${ns} on its new owner ${job.to}`);
    if (sourceLeft) changes.push(`retired the old copy on ${job.from}`);
  } else {
    if (claimed) {
      // prepare refused a destination that held this shard, so every copy there is this job's.
      const destDir = (await cluster.catalog.node(job.to)).dir;
      const leftovers = [incomingFile(destDir, org, ns), shardFile(destDir, org, ns)].filter((file) => fs.existsSync(file));
      removeCopies(destDir, org, ns, true);
      for (const file of leftovers) changes.push(`removed ${file} from ${job.to}`);
    }
    // Unconditionally: a no-op unless this job still holds the lock, and a rollback
    // retried after it released the claim must still free a shard this job locked.
    const sourceLocked = lockedBy(await cluster.fileOn(shard.owner, org, ns)) === jobId;
    await replicator.propose({ op: 'unlock', org, ns, jobId });
    if (sourceLocked) changes.push(`lifted the lock on ${shard.owner}`);
  }
  await cluster.catalog.release(org, ns, jobId);
  if (claimed) changes.push(`released the claim of job ${jobId}`);
  return { outcome: shard.owner === job.to ? 'already-released' : 'rolled-back', changes };
}

/** The job holding a shard file's lock; null when unlocked, missing or unreadable (nothing to lift there). */
function lockedBy(file: string): string | null {
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
