// The coordinator's Temporal workers: the workflows and the catalog-side activities on
// two task queues. The shared queue (TASKSD_TASK_QUEUE) takes jobs started without a
// cluster, e.g. from the Temporal CLI; the cluster's own queue (`<queue>@<cluster id>`)
// takes every job of its clients, its catalog steps and its reconciler, so two
// clusters' coordinators that share a task queue by mistake never act on each other's
// shards. Node steps run in the node agents (agent/serve.ts).
import { Worker, type NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import type { CoordinatorActivities } from '../activities';
import { clusterTaskQueue, sharedTaskQueue } from '../common/names';

export interface CoordinatorWorkersOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  clusterId: string;
  activities: CoordinatorActivities;
  workflowBundle: WorkflowBundleOption;
}

export async function createCoordinatorWorkers(options: CoordinatorWorkersOptions): Promise<Worker[]> {
  const { connection, namespace, taskQueue, clusterId, activities, workflowBundle } = options;
  const queues = [sharedTaskQueue(taskQueue), clusterTaskQueue(taskQueue, clusterId)];
  return Promise.all(queues.map((queue) => Worker.create({ connection, namespace, taskQueue: queue, workflowBundle, activities })));
}
