// The migration worker: serves migrateShard and the cluster's reconciler on the
// shard-migration task queue (or TASKSD_TASK_QUEUE) and on its cluster's own queue,
// against the cluster under TASKSD_DATA. With no Temporal server configured and none
// listening, it first brings up the embedded dev server.
import { bundleWorkflowCode } from '@temporalio/worker';
import { createActivities } from './activities';
import { heartbeatIfInActivity } from './activities/heartbeat';
import { testHooksFromEnv } from './activities/test-hooks';
import { reconcileGraceMs, reconcileIntervalMs, taskQueue } from './common/config';
import { clusterTaskQueue } from './common/names';
import { Cluster } from './store/cluster';
import { LocalReplicator } from './store/local-replicator';
import { createClusterWorkers, runWorkers } from './temporal/cluster-workers';
import { checkNamespace, connectClient, ensureSearchAttributes, temporalTarget } from './temporal/connection';
import { connectWorker } from './temporal/worker-connection';
import { startEmbeddedIfNeeded } from './temporal/embedded';
import { jobLookup } from './temporal/job-lookup';
import { ensureReconciler } from './temporal/reconciler';

async function run(): Promise<void> {
  const target = temporalTarget();
  // Bad settings fail before anything starts.
  const reconcile = { intervalMs: reconcileIntervalMs(), graceMs: reconcileGraceMs() };
  const embedded = await startEmbeddedIfNeeded(target);
  if (embedded) console.log(`tasksd worker: started the embedded Temporal dev server at ${embedded.address}, Web UI ${embedded.uiUrl}`);
  try {
    const { client, connection: clientConnection } = await connectClient(target);
    try {
      // Fails fast, naming the address or namespace, instead of a worker that polls nothing.
      await checkNamespace(clientConnection, target.namespace);
      const added = await ensureSearchAttributes(clientConnection, target.namespace);
      if (added.length > 0) console.log(`tasksd worker: registered search attributes ${added.join(', ')}`);
      // Opened only once Temporal is known to be usable: a refused start leaves no catalog behind.
      const cluster = await Cluster.fromEnv({
        onCatalogWait: (message) => {
          console.warn(`tasksd worker: ${message}`);
          heartbeatIfInActivity();
        },
      });
      try {
        const connection = await connectWorker(target);
        try {
          const clusterId = cluster.catalog.clusterId;
          const workers = await createClusterWorkers({
            connection,
            namespace: target.namespace,
            taskQueue: taskQueue(),
            clusterId,
            activities: createActivities({ cluster, replicator: new LocalReplicator(cluster), jobs: jobLookup(client), testHooks: testHooksFromEnv() }),
            workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows') }),
          });
          const { workflowId: reconciler } = await ensureReconciler(client, taskQueue(), { cluster: clusterId, ...reconcile });
          console.log(
            `tasksd worker: serving task queues ${taskQueue()} and ${clusterTaskQueue(taskQueue(), clusterId)} on ${target.address} ` +
              `(namespace ${target.namespace}), cluster ${clusterId}, catalog ${cluster.catalog.location}; reconciler ${reconciler}`,
          );
          await runWorkers(workers); // returns after SIGINT/SIGTERM once in-flight tasks are done
        } finally {
          await connection.close();
        }
      } finally {
        await cluster.close();
      }
    } finally {
      await clientConnection.close();
    }
  } finally {
    await embedded?.stop();
  }
}

run().catch((err) => {
  console.error(`tasksd worker: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
