// The coordinator's Temporal workers: the workflows and the catalog-side activities on
// two task queues. The shared queue (TASKSD_TASK_QUEUE) takes jobs started without a
// cluster, e.g. from the Temporal CLI; the cluster's own queue (`<queue>@<cluster id>`)
// takes every job of its clients, its catalog steps and its reconciler, so two
// clusters' coordinators that share a task queue by mistake never act on each other's
// shards. Node steps run in the node agents (agent/serve.ts).
import type { Logger } from '@temporalio/common';
import { Worker, type CompiledWorkerOptions, type NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import type { WorkflowCreator } from '@temporalio/worker/lib/workflow/interface';
import type { WorkflowBundleWithSourceMapAndFilename } from '@temporalio/worker/lib/workflow/workflow-worker-thread/input';
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
  const CoordinatorWorker = sharingWorkflowThread();
  return Promise.all(queues.map((queue) => CoordinatorWorker.create({ connection, namespace, taskQueue: queue, workflowBundle, activities })));
}

/**
 * A Worker class whose instances run their workflows on one shared workflow thread.
 * Each Worker would otherwise start its own (a V8 isolate with the workflow bundle
 * loaded, ≈ 40 MiB RSS: issue 15), though both coordinator workers run the same bundle
 * with the same activities and options, and a workflow run belongs to one task queue,
 * so to one of them. The thread is made by the first Worker (the SDK's own creator,
 * through its documented hook) and ends when the last one is destroyed.
 */
function sharingWorkflowThread(): typeof Worker {
  let shared: Promise<WorkflowCreator> | undefined;
  let users = 0;
  return class CoordinatorWorker extends Worker {
    protected static override async createWorkflowCreator(
      bundle: WorkflowBundleWithSourceMapAndFilename,
      compiledOptions: CompiledWorkerOptions,
      logger: Logger,
    ): Promise<WorkflowCreator> {
      const creating = (shared ??= super.createWorkflowCreator(bundle, compiledOptions, logger));
      creating.catch(() => (shared === creating ? (shared = undefined) : undefined));
      const creator = await creating;
      users++;
      let destroyed = false;
      return {
        createWorkflow: (options) => creator.createWorkflow(options),
        async destroy() {
          if (destroyed) return;
          destroyed = true;
          if (--users > 0) return;
          if (shared === creating) shared = undefined;
          await creator.destroy();
        },
      };
    }
  };
}
