// Reconciliation, catalog side: a job that ended without its own rollback (terminated,
// timed out, reset away, its history lost) leaves its claim in the catalog, and perhaps
// a lock on the source and a copy on the destination. Every claim names its job and
// route, so the catalog alone says what to undo; the reconciler workflow then runs the
// same rollback (or, when the owner had flipped, the same hand-off) the job would have.
//
// A job is only reconciled once it has been over for `graceMs`: a terminated job's
// activities learn of it at their next heartbeat or timeout, and one still running
// must not race the rollback.
import type { Cluster } from '../store/cluster';
import { checkCluster } from './cluster-guard';
import type { JobState, Orphan, OrphanScan, ReconcileAction, ReconcileInput } from './types';

/** How a job stands in Temporal, by its id (the workflow id). */
export type JobLookup = (jobId: string) => Promise<JobState>;

export async function scanOrphans(cluster: Cluster, lookup: JobLookup, input: ReconcileInput): Promise<OrphanScan> {
  checkCluster(cluster, 'reconcile', input.cluster);
  const claims = (await cluster.catalog.listClaims()).filter(
    (claim) => (input.org === undefined || claim.org === input.org) && (input.ns === undefined || claim.ns === input.ns),
  );
  const orphans: Orphan[] = [];
  const waiting: ReconcileAction[] = [];
  for (const claim of claims) {
    const job = await lookup(claim.jobId);
    if (job.state === 'running') continue;
    const jobEnded = job.state === 'closed' ? job.how : 'not found in Temporal';
    const endedAt = job.state === 'closed' ? job.closedAt : Date.parse(claim.claimedAt ?? '') || 0;
    const waitMs = endedAt + input.graceMs - Date.now();
    const base = { org: claim.org, ns: claim.ns, jobId: claim.jobId, jobEnded };
    if (waitMs > 0) {
      waiting.push({ ...base, outcome: 'waiting', waitMs, changes: [`job ${jobEnded}; acting in ${Math.ceil(waitMs / 1000)} s, once its activities have stopped`] });
      continue;
    }
    orphans.push({
      jobEnded,
      flipped: claim.to !== null && claim.owner === claim.to,
      ref: {
        jobId: claim.jobId,
        org: claim.org,
        ns: claim.ns,
        // A claim recorded without its route: only the owner's lock and the claim can be undone.
        from: claim.from ?? claim.owner,
        to: claim.to ?? '',
        mode: 'offline',
        cluster: input.cluster,
      },
    });
  }
  return { claims: claims.length, orphans, waiting };
}
