// The reconciler: one long-running workflow per cluster, on that cluster's task queue,
// that looks for claims left by jobs that ended without their own rollback and
// reconciles them: the coordinator finds them in the catalog (activities/reconcile.ts),
// and the same rollback or hand-off a job runs undoes or finishes each (hand-off.ts).
// It is durable and visible like any job: its history holds every pass that changed
// something, its Current Details the last pass. `repairShards` is the same work once,
// on demand (`tasksd repair`).
import { continueAsNew, log, proxyActivities, setCurrentDetails, sleep, workflowInfo } from '@temporalio/workflow';
import type { CoordinatorActivities, ReconcileAction, ReconcileInput, ReconcileReport } from '../activities';
import { rollBack } from './hand-off';
import { routeOf } from './route';

const { scanOrphans } = proxyActivities<CoordinatorActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5 },
});

/** One pass: find the claims of ended jobs, then roll back or finish each move. */
async function reconcile(input: ReconcileInput): Promise<ReconcileReport> {
  const scan = await scanOrphans(input);
  const actions: ReconcileAction[] = [...scan.waiting];
  for (const { ref, jobEnded } of scan.orphans) {
    const { outcome, changes } = await rollBack(ref, routeOf(ref, workflowInfo().taskQueue));
    actions.push({ org: ref.org, ns: ref.ns, jobId: ref.jobId, jobEnded, outcome: outcome === 'already-released' ? 'finished' : 'rolled-back', changes });
  }
  return { cluster: input.cluster, claims: scan.claims, actions };
}

export interface ReconcilerInput {
  cluster: string;
  /** Time between passes. */
  intervalMs: number;
  /** How long a job must have been over before its claim is reconciled. */
  graceMs: number;
  /** Carried across continue-as-new, so the details keep counting. */
  reconciled?: number;
}

/** Passes per run before continuing as new: keeps the history short. */
const PASSES_PER_RUN = 500;

export async function reconcileClaims(input: ReconcilerInput): Promise<void> {
  let reconciled = input.reconciled ?? 0;
  for (let pass = 1; pass <= PASSES_PER_RUN && !workflowInfo().continueAsNewSuggested; pass++) {
    let summary: string;
    try {
      const report = await reconcile({ cluster: input.cluster, graceMs: input.graceMs });
      const acted = report.actions.filter((a) => a.outcome !== 'waiting');
      reconciled += acted.length;
      for (const action of acted) log.info(describeAction(action));
      summary = describeReport(report);
    } catch (err) {
      // The next pass retries; a reconciler that stopped on one bad pass would strand every later job.
      summary = `last pass failed: ${(err as Error).message}`;
    }
    setCurrentDetails(
      [`**reconciler** of cluster ${input.cluster}: every ${input.intervalMs / 1000} s, after a grace of ${input.graceMs / 1000} s`,
        `claims reconciled so far: ${reconciled}`, `last pass: ${summary}`].join('\n\n'),
    );
    await sleep(input.intervalMs);
  }
  await continueAsNew<typeof reconcileClaims>({ ...input, reconciled });
}

export interface RepairInput {
  cluster: string;
  org?: string;
  ns?: string;
  graceMs: number;
}

/** Bounds a repair that keeps finding fresh orphans (a job terminated every few seconds). */
const MAX_REPAIR_PASSES = 20;

/** Reconciles now, waiting out the grace of jobs that ended moments ago; returns what it did. */
export async function repairShards(input: RepairInput): Promise<ReconcileReport> {
  const done: ReconcileAction[] = [];
  for (let pass = 1; ; pass++) {
    const report = await reconcile(input);
    done.push(...report.actions.filter((a) => a.outcome !== 'waiting'));
    const waiting = report.actions.filter((a) => a.outcome === 'waiting');
    const result = { ...report, actions: [...done, ...waiting] };
    setCurrentDetails(describeReport(result));
    if (waiting.length === 0 || pass === MAX_REPAIR_PASSES) return result;
    await sleep(Math.max(...waiting.map((a) => a.waitMs ?? 0)) + 100);
  }
}

function describeAction(a: ReconcileAction): string {
  return `${a.org}/${a.ns}: job ${a.jobId} ${a.jobEnded}; ${a.outcome}${a.changes.length ? `: ${a.changes.join('; ')}` : ''}`;
}

function describeReport(report: ReconcileReport): string {
  if (report.actions.length === 0) return `${report.claims} claim(s) held, all by running jobs: nothing to do`;
  return report.actions.map(describeAction).join('\n\n');
}
