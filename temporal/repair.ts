// `tasksd repair` and the client's repair(): runs the cluster's repairShards workflow
// now and returns what it did. It runs on the cluster's own queue, so only a worker of
// that cluster does it; it is a workflow, so what it did stays in Temporal's history.
import type { Client } from '@temporalio/client';
import type { ReconcileReport } from '../activities/types';
import { clusterTaskQueue, REPAIR_WORKFLOW_TYPE } from '../common/names';
import type { RepairInput } from '../workflows/reconcile';

export async function runRepair(client: Client, taskQueue: string, input: RepairInput): Promise<ReconcileReport> {
  const scope = input.org || input.ns ? `-${input.org ?? 'any'}.${input.ns ?? 'any'}` : '';
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return client.workflow.execute(REPAIR_WORKFLOW_TYPE, {
    workflowId: `repair${scope}-${stamp}-${Math.random().toString(36).slice(2, 6)}`,
    taskQueue: clusterTaskQueue(taskQueue, input.cluster),
    args: [input],
    staticSummary: `Repair of cluster ${input.cluster}${scope ? ` (${scope.slice(1)})` : ''}`,
  }) as Promise<ReconcileReport>;
}

/** One line per shard reconciled, or why nothing needed doing. */
export function describeRepair(report: ReconcileReport): string[] {
  if (report.actions.length === 0) {
    return [report.claims === 0 ? 'nothing needed doing: no shard is claimed' : `nothing needed doing: ${report.claims} claim(s) held, all by running jobs`];
  }
  return report.actions.map((a) => {
    const what = a.outcome === 'rolled-back' ? 'rolled back' : a.outcome === 'finished' ? 'finished the hand-off' : 'still waiting';
    return `${a.org}/${a.ns}: job ${a.jobId} ${a.jobEnded}; ${what}${a.changes.length ? `: ${a.changes.join('; ')}` : ''}`;
  });
}
