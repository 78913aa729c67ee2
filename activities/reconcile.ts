// Reconciliation: a job that ended without its own rollback (terminated, timed out,
// reset away, its history lost) leaves its claim in the catalog, and perhaps a lock
// on the source and a copy on the destination. Every claim names its job and route,
// so the catalog alone says what to undo: the same rollback the job would have run,
// which finishes the hand-off instead when the owner had already flipped.
//
// A job is only reconciled once it has been over for `graceMs`: a terminated job's
// activities learn of it at their next heartbeat or timeout, and one still running
// must not race the rollback.
import { Context } from '@temporalio/activity';
import type { Cluster } from '../store/cluster';
import type { Replicator } from '../store/replicator';
import { checkCluster } from './cluster-guard';
import { rollbackMigration } from './rollback';
import type { JobRef, JobState, ReconcileAction, ReconcileInput, ReconcileReport } from './types';

/** How a job stands in Temporal, by its id (the workflow id). */
export type JobLookup = (jobId: string) => Promise<JobState>;

export async function reconcileClaims(
  cluster: Cluster,
  replicator: Replicator,
  lookup: JobLookup,
  input: ReconcileInput,
): Promise<ReconcileReport> {
  checkCluster(cluster, 'reconcile', input.cluster);
  const claims = (await cluster.catalog.listClaims()).filter((claim) => (input.org === undefined || claim.org === input.org) && (input.ns === undefined || claim.ns === input.ns));
  const actions: ReconcileAction[] = [];
  for (const claim of claims) {
    const job = await lookup(claim.jobId);
    if (job.state === 'running') continue;
    const jobEnded = job.state === 'closed' ? job.how : 'not found in Temporal';
    const endedAt = job.state === 'closed' ? job.closedAt : Date.parse(claim.claimedAt ?? '') || 0;
    const base = { org: claim.org, ns: claim.ns, jobId: claim.jobId, jobEnded };
    const waitMs = endedAt + input.graceMs - Date.now();
    if (waitMs > 0) {
      actions.push({ ...base, outcome: 'waiting', waitMs, changes: [`job ${jobEnded}; acting in ${Math.ceil(waitMs / 1000)} s, once its activities have stopped`] });
      continue;
    }
    // Re-read after the lookup: the job may have released the claim as it ended.
    const current = await cluster.catalog.findShard(claim.org, claim.ns);
    if (current?.jobId !== claim.jobId) continue;
    const ref: JobRef = {
      jobId: claim.jobId,
      org: claim.org,
      ns: claim.ns,
      // A claim recorded before routes were kept: only the owner's lock and the claim can be undone.
      from: claim.from ?? current.owner,
      to: claim.to ?? current.owner,
      mode: 'offline',
      cluster: input.cluster,
    };
    const { outcome, changes = [] } =
      claim.to === null ? await rollbackInPlace(cluster, replicator, ref) : await rollbackMigration(cluster, replicator, ref);
    const action: ReconcileAction = { ...base, outcome: outcome === 'already-released' ? 'finished' : 'rolled-back', changes };
    Context.current().log.info(`reconciled ${claim.org}/${claim.ns} after job ${claim.jobId} ${jobEnded}: ${action.outcome}; ${changes.join('; ')}`);
    actions.push(action);
  }
  return { cluster: input.cluster, claims: claims.length, actions };
}

/** Lifts the job's lock on the owner and drops its claim; the owner stays. */
async function rollbackInPlace(cluster: Cluster, replicator: Replicator, ref: JobRef) {
  await replicator.propose({ op: 'unlock', org: ref.org, ns: ref.ns, jobId: ref.jobId });
  await cluster.catalog.release(ref.org, ref.ns, ref.jobId);
  return { outcome: 'rolled-back' as const, changes: [`lifted any lock of job ${ref.jobId} on ${ref.from}`, `released the claim of job ${ref.jobId}`] };
}
