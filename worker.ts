// `npm start`: the coordinator — the workflows (migrateShard, the cluster's reconciler)
// and the catalog-side activities on the shared task queue (TASKSD_TASK_QUEUE) and the
// cluster's own — and, in the same process, an agent for every embedded node of the
// cluster (docs/NODES.md). With no Temporal server configured and none listening, it
// first brings up the embedded dev server.
import './common/young-generation'; // first: before the modules load and the workflow threads start
import { heartbeatIfInActivity } from './activities/heartbeat';
import { clusterToken, tlsCaFile } from './common/cluster-token';
import { reconcileGraceMs, reconcileIntervalMs, taskQueue } from './common/config';
import { clusterTaskQueue } from './common/names';
import { faultsFromEnv } from './faults';
import { Cluster } from './store/cluster';
import { checkNamespace, connectClient, ensureSearchAttributes, temporalTarget } from './temporal/connection';
import { startEmbeddedCluster } from './temporal/embedded-cluster';
import { startEmbeddedIfNeeded } from './temporal/embedded';
import { ensureReconciler } from './temporal/reconciler';
import { connectWorker } from './temporal/worker-connection';
import { workflowBundle } from './temporal/workflow-bundle';

const say = (line: string) => console.log(`tasksd worker: ${line}`);

async function run(): Promise<void> {
  // First, so that with TASKSD_FAULTS=1 the first line of the log says fault injection is on.
  const faults = faultsFromEnv(process.env, say, (line) => console.warn(`tasksd worker: ${line}`));
  const target = temporalTarget();
  // Bad settings fail before anything starts.
  const reconcile = { intervalMs: reconcileIntervalMs(), graceMs: reconcileGraceMs() };
  const embedded = await startEmbeddedIfNeeded(target);
  if (embedded) say(`started the embedded Temporal dev server at ${embedded.address}, Web UI ${embedded.uiUrl}`);
  try {
    const { client, connection: clientConnection } = await connectClient(target);
    try {
      // Fails fast, naming the address or namespace, instead of a worker that polls nothing.
      await checkNamespace(clientConnection, target.namespace);
      const added = await ensureSearchAttributes(clientConnection, target.namespace);
      if (added.length > 0) say(`registered search attributes ${added.join(', ')}`);
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
          const running = await startEmbeddedCluster({
            cluster,
            connection,
            client,
            namespace: target.namespace,
            taskQueue: taskQueue(),
            workflowBundle: await workflowBundle(say), // build/workflows.js when current (npm run build:workflows)
            token: clusterToken(cluster.dataRoot),
            caFile: tlsCaFile(),
            faults,
            log: say,
          });
          const { workflowId: reconciler } = await ensureReconciler(client, taskQueue(), { cluster: clusterId, ...reconcile });
          say(
            `coordinating cluster ${clusterId} on task queues ${taskQueue()} and ${clusterTaskQueue(taskQueue(), clusterId)} ` +
              `at ${target.address} (namespace ${target.namespace}), catalog ${cluster.catalog.location}; reconciler ${reconciler}`,
          );
          try {
            await running.workers.whenStopped(); // after SIGINT/SIGTERM, once in-flight tasks are done
          } finally {
            await running.stop();
          }
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
