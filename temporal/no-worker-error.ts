// The failure "nothing will run this": no worker polls the task queue a job waits on.
// Free of SDK imports, so the CLI can recognise it without loading Temporal.

/** Where work waits for a worker: enough for an operator to find the right one. */
export interface IdleQueue {
  taskQueue: string;
  namespace: string;
  address?: string;
}

export class NoWorkerError extends Error {
  constructor(
    readonly queue: IdleQueue,
    /** What that means for the command, e.g. `job X (pending) cannot progress until one does`. */
    consequence: string,
  ) {
    super(`${noWorkerPolls(queue)}: ${consequence}`);
    this.name = 'NoWorkerError';
  }
}

/** e.g. `no worker polls task queue "shard-migration" (namespace default at localhost:7233)`. */
export function noWorkerPolls(queue: IdleQueue): string {
  const where = queue.address ? `namespace ${queue.namespace} at ${queue.address}` : `namespace ${queue.namespace}`;
  return `no worker polls task queue "${queue.taskQueue}" (${where})`;
}

/** The hint every such message ends with. */
export const START_A_WORKER = 'start one with "npm start"';

/** What it means for a job that has not ended, e.g. `job X (pending) waits for one; start one …`. */
export function jobWaits(job: { id: string; status: string }): string {
  return `job ${job.id} (${job.status}) waits for one; ${START_A_WORKER}`;
}
