// The Temporal workers of one cluster: the same workflows and activities on two task
// queues. The shared queue (TASKSD_TASK_QUEUE) takes jobs started without a cluster,
// e.g. from the Temporal CLI; the cluster's own queue (`<queue>@<cluster id>`) takes
// every step of its jobs and its reconciler, so two clusters' workers that share a
// task queue by mistake never act on each other's shards.
import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import type { MigrationActivities } from '../activities';
import { clusterTaskQueue, sharedTaskQueue } from '../common/names';

export interface ClusterWorkersOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  clusterId: string;
  activities: MigrationActivities;
  workflowBundle: WorkflowBundle;
}

export async function createClusterWorkers(options: ClusterWorkersOptions): Promise<Worker[]> {
  const { connection, namespace, taskQueue, clusterId, activities, workflowBundle } = options;
  const queues = [sharedTaskQueue(taskQueue), clusterTaskQueue(taskQueue, clusterId)];
  return Promise.all(
    queues.map((queue) =>
      Worker.create({
        connection,
        namespace,
        taskQueue: queue,
        workflowBundle,
        activities,
        // Copy progress reaches the server (and the Web UI) every second.
        maxHeartbeatThrottleInterval: '1s',
      }),
    ),
  );
}

/** Runs the workers until `done` settles (tests) or until SIGINT/SIGTERM drains them. */
export async function runWorkers<T>(workers: Worker[], done?: Promise<T>): Promise<T | undefined> {
  if (!done) {
    await Promise.all(workers.map((worker) => worker.run()));
    return undefined;
  }
  const [result] = await Promise.all(workers.map((worker) => worker.runUntil(done)));
  return result;
}
