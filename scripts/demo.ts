// `npm run demo`: the whole product in one go for a newcomer — two nodes, a shard with
// a few thousand rows, one migration with its progress, the final owner and the Web
// UI link. Uses its own data root (./data-demo) and task queue, so it never touches a
// real cluster or a worker already running.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { MigrationClient } from '../client';
import { followJob } from '../cli/progress';
import { Cluster } from '../store/cluster';
import { LocalReplicator } from '../store/local-replicator';
import { clusterToken } from '../common/cluster-token';
import { startEmbeddedCluster } from '../temporal/embedded-cluster';
import { connectClient, ensureSearchAttributes, temporalTarget } from '../temporal/connection';
import { connectWorker } from '../temporal/worker-connection';
import { startEmbeddedIfNeeded } from '../temporal/embedded';

const TASK_QUEUE = 'shard-migration-demo';
const ROWS = 5000;
const ROW_BYTES = 1024;

async function main(): Promise<void> {
  const target = temporalTarget();
  const embedded = await startEmbeddedIfNeeded(target);
  const uiBase = embedded?.uiUrl ?? 'http://localhost:8233';
  say(embedded ? `Started the embedded Temporal dev server (${embedded.address})` : `Using the Temporal server at ${target.address}`);

  const dataRoot = path.resolve('data-demo');
  fs.rmSync(dataRoot, { recursive: true, force: true });
  const cluster = await Cluster.open(dataRoot);
  const replicator = new LocalReplicator(cluster);
  const { client, connection } = await connectClient(target);
  await ensureSearchAttributes(connection, target.namespace);
  const workerConnection = await connectWorker(target);
  try {
    say(`Cluster under ${dataRoot}: nodes node-a and node-b`);
    await cluster.addNode('node-a');
    await cluster.addNode('node-b');
    await cluster.createShard('acme', 'default', 'node-a');
    for (let start = 0; start < ROWS; start += 1000) {
      const batch = Array.from({ length: 1000 }, (_, i) => ({ id: `task-${start + i}`, title: `task ${start + i}`, body: Buffer.alloc(ROW_BYTES, i % 251) }));
      await replicator.putMany('acme', 'default', batch);
    }
    await printShards(cluster, 'Before');

    const serving = await startEmbeddedCluster({
      cluster,
      connection: workerConnection,
      client,
      namespace: target.namespace,
      taskQueue: TASK_QUEUE,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows') }),
      token: clusterToken(dataRoot),
      // Paced at 2 MiB/s so the progress bar is there to see; real moves run at disk speed.
      testHooks: { copyBytesPerSecond: 2 * 1024 * 1024 },
    });
    const migrations = new MigrationClient(client, TASK_QUEUE, undefined, cluster.catalog.clusterId);
    const move = async (to: string, mode: 'offline' | 'online') => {
      const id = await migrations.start({ org: 'acme', ns: 'default', to, mode });
      say(`Migrating acme/default to ${to} (${mode}) as job ${id}`);
      const job = await followJob(migrations, id, process.stdout);
      say(`Job ${job.id}: ${job.status}, ${job.bytes} bytes copied, writes paused for ${job.pauseMs} ms, checksum ${job.checksum}`);
      await printShards(cluster, 'After');
      say(`Web UI: ${uiBase}/namespaces/${target.namespace}/workflows/${encodeURIComponent(job.id)}`);
    };
    try {
      await move('node-b', 'offline'); // the reference protocol: writes refused for the whole copy
      await move('node-a', 'online'); // copy while writable: writes refused only for the cut-over
    } finally {
      await serving.stop();
    }
  } finally {
    await cluster.close();
    await connection.close();
    await workerConnection.close();
  }
  if (embedded) {
    say('The dev server keeps running so you can open the Web UI; press Ctrl-C to stop it.');
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    await embedded.stop();
  }
}

async function printShards(cluster: Cluster, when: string): Promise<void> {
  for (const s of await cluster.listShards()) {
    say(`${when}: ${s.org}/${s.ns} owned by ${s.owner}, ${s.rows} rows, seq ${s.seq}, ${s.bytes} bytes, locked by ${s.lockedBy ?? 'nobody'}`);
  }
}

function say(line: string): void {
  console.log(`demo: ${line}`);
}

main().catch((err) => {
  console.error(`demo: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
