// The migration worker: serves migrateShard on the shard-migration task queue (or
// TASKSD_TASK_QUEUE) against the cluster under TASKSD_DATA. With no Temporal server
// configured and none listening, it first brings up the embedded dev server.
import { Worker } from '@temporalio/worker';
import { createActivities } from './activities';
import { testHooksFromEnv } from './activities/test-hooks';
import { dataRoot, retainSource, taskQueue } from './common/config';
import { Cluster } from './store/cluster';
import { LocalReplicator } from './store/local-replicator';
import { checkNamespace, connectClient, ensureSearchAttributes, temporalTarget, type TemporalTarget } from './temporal/connection';
import { connectWorker } from './temporal/worker-connection';
import { startEmbeddedIfNeeded } from './temporal/embedded';

async function run(): Promise<void> {
  const target = temporalTarget();
  const embedded = await startEmbeddedIfNeeded(target);
  if (embedded) console.log(`tasksd worker: started the embedded Temporal dev server at ${embedded.address}, Web UI ${embedded.uiUrl}`);
  try {
    await checkServer(target);
    // Opened only once Temporal is known to be usable: a refused start leaves no catalog behind.
    const cluster = new Cluster(dataRoot(), { retainSource: retainSource() });
    try {
      const connection = await connectWorker(target);
      try {
        const worker = await Worker.create({
          connection,
          namespace: target.namespace,
          taskQueue: taskQueue(),
          workflowsPath: require.resolve('./workflows'),
          activities: createActivities({ cluster, replicator: new LocalReplicator(cluster), testHooks: testHooksFromEnv() }),
          // Copy progress reaches the server (and the Web UI) every second.
          maxHeartbeatThrottleInterval: '1s',
        });
        console.log(
          `tasksd worker: serving task queue ${taskQueue()} on ${target.address} (namespace ${target.namespace}), data root ${cluster.dataRoot}`,
        );
        await worker.run(); // returns after SIGINT/SIGTERM once in-flight tasks are done
      } finally {
        await connection.close();
      }
    } finally {
      cluster.close();
    }
  } finally {
    await embedded?.stop();
  }
}

/** Fails fast, with a message naming the address or namespace, instead of a worker that polls nothing. */
async function checkServer(target: TemporalTarget): Promise<void> {
  const { connection: admin } = await connectClient(target);
  try {
    await checkNamespace(admin, target.namespace);
    const added = await ensureSearchAttributes(admin, target.namespace);
    if (added.length > 0) console.log(`tasksd worker: registered search attributes ${added.join(', ')}`);
  } finally {
    await admin.close();
  }
}

run().catch((err) => {
  console.error(`tasksd worker: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
