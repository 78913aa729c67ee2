// Starts the cluster's reconciler (workflows/reconcile.ts) if it is not running yet:
// every worker of the cluster asks at start-up, the first one's start wins, and a
// reconciler that ended (terminated by hand) is started again by the next worker.
import type { Client } from '@temporalio/client';
import { clusterTaskQueue, RECONCILE_WORKFLOW_TYPE, reconcilerWorkflowId } from '../common/names';
import type { ReconcilerInput } from '../workflows/reconcile';

/** Returns the reconciler's workflow id and the run now serving (the existing one, if any). */
export async function ensureReconciler(client: Client, taskQueue: string, input: ReconcilerInput): Promise<{ workflowId: string; runId: string }> {
  const workflowId = reconcilerWorkflowId(input.cluster);
  const handle = await client.workflow.start(RECONCILE_WORKFLOW_TYPE, {
    workflowId,
    taskQueue: clusterTaskQueue(taskQueue, input.cluster),
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `Reconciler of cluster ${input.cluster}`,
    staticDetails: 'Rolls back or finishes moves whose job ended without doing so itself (terminated, timed out, history lost).',
  });
  return { workflowId, runId: handle.firstExecutionRunId };
}
