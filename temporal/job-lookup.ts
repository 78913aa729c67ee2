// How a job stands, asked of Temporal by workflow id: the reconciler acts only on
// claims whose job is over.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { JobLookup } from '../activities/reconcile';
import type { Job } from '../common/job';

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

/** A job's final Job, or null while it runs (a fleet job asks about a move it started in an earlier run). */
export function jobResult(client: Client): (jobId: string) => Promise<Job | null> {
  return async (jobId) => {
    const handle = client.workflow.getHandle(jobId);
    const description = await handle.describe();
    if (description.status.name === 'RUNNING') return null;
    if (description.status.name === 'COMPLETED') return (await handle.result()) as Job;
    const how = description.status.name.toLowerCase().replace(/_/g, ' ');
    return { id: jobId, org: '', ns: '', from: '', to: '', status: 'failed', bytes: 0, startedAt: description.startTime.toISOString(), mode: 'offline', error: `job ${how} outside its control` };
  };
}
