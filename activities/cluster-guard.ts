// One cluster per job: a worker acts only on jobs of the cluster whose catalog it
// opened. Jobs are routed to their cluster's own task queue, so this refusal is the
// last line of defence (a catalog swapped under a running worker, a hand-made start):
// it is retryable, leaving the task to a worker of the right cluster.
import { Context } from '@temporalio/activity';
import { ErrorType, TasksdError } from '../common/errors';
import type { Cluster } from '../store/cluster';

export function checkCluster(cluster: Cluster, jobId: string, wanted: string | undefined): void {
  const mine = cluster.catalog.clusterId;
  if (wanted === undefined || wanted === mine) return;
  const message =
    `job ${jobId} is for cluster ${wanted}, but this worker serves cluster ${mine} (catalog ${cluster.catalog.location}); ` +
    'not acting, so a worker of that cluster can take it';
  Context.current().log.warn(message);
  throw new TasksdError(ErrorType.WrongCluster, message);
}

/** Wraps a phase that takes a job's identity so it refuses another cluster's jobs before touching anything. */
export function inCluster<J extends { jobId: string; cluster?: string }, R>(
  cluster: Cluster,
  fn: (job: J) => Promise<R>,
): (job: J) => Promise<R> {
  return async (job: J) => {
    checkCluster(cluster, job.jobId, job.cluster);
    return fn(job);
  };
}
