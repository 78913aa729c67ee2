// How a job stands, asked of Temporal by workflow id: the reconciler acts only on
// claims whose job is over.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { JobLookup } from '../activities/reconcile';

export function jobLookup(client: Client): JobLookup {
  return async (jobId) => {
    let description;
    try {
      description = await client.workflow.getHandle(jobId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { state: 'missing' };
      throw err;
    }
    const status = description.status.name;
    if (status === 'RUNNING') return { state: 'running' };
    return {
      state: 'closed',
      how: status.toLowerCase().replace(/_/g, ' ').replace('canceled', 'cancelled'),
      closedAt: description.closeTime?.getTime() ?? Date.now(),
    };
  };
}
