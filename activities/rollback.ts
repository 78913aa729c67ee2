// Compensation: undo what a failed or cancelled job did, so the source stays the
// owner, unlocked and writable, with nothing of the job left on the destination.
// A job past its commit point (the owner already flipped) is finished, never undone.
import type { Cluster } from '../store/cluster';
import type { Replicator } from '../store/replicator';
import { removeCopies } from '../store/shard-copy';
import type { JobRef, RollbackResult } from './types';

export async function rollbackMigration(cluster: Cluster, replicator: Replicator, job: JobRef): Promise<RollbackResult> {
  const { org, ns, jobId } = job;
  const shard = cluster.catalog.shard(org, ns);
  if (shard.owner === job.to) {
    await replicator.propose({ op: 'unlock', org, ns, jobId, handoff: { from: job.from, to: job.to } });
    cluster.catalog.release(org, ns, jobId);
    return { outcome: 'already-released' };
  }
  if (shard.jobId === jobId) {
    // prepare refused a destination that held this shard, so every copy there is this job's.
    removeCopies(cluster.catalog.node(job.to).dir, org, ns, true);
  }
  // Unconditionally: a no-op unless this job still holds the lock, and a rollback
  // retried after it released the claim must still free a shard this job locked.
  await replicator.propose({ op: 'unlock', org, ns, jobId });
  cluster.catalog.release(org, ns, jobId);
  return { outcome: 'rolled-back' };
}
