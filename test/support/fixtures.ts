// A cluster under a fresh temp data root with two nodes, shards filled with rows,
// and an in-process worker on a task queue of its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createActivities } from '../../activities';
import type { ActivityTestHooks } from '../../activities/test-hooks';
import { MigrationClient } from '../../client';
import { Cluster } from '../../store/cluster';
import { LocalReplicator } from '../../store/local-replicator';
import { createClusterWorkers, runWorkers } from '../../temporal/cluster-workers';
import { jobLookup } from '../../temporal/job-lookup';
import { suite } from './root-hooks';

export interface TestCluster {
  root: string;
  cluster: Cluster;
  replicator: LocalReplicator;
  close(): void;
}

export function makeCluster(options: { nodes?: string[]; retainSource?: boolean } = {}): TestCluster {
  const root = fs.mkdtempSync(path.join(suite().scratch, 'cluster-'));
  const cluster = new Cluster(root, { retainSource: options.retainSource });
  for (const node of options.nodes ?? ['node-a', 'node-b']) cluster.addNode(node);
  return { root, cluster, replicator: new LocalReplicator(cluster), close: () => cluster.close() };
}

/** Creates a shard on `node` and puts `rows` tasks (ids t00000…) into it. */
export async function seedShard(t: TestCluster, org: string, ns: string, node: string, rows: number, bodyBytes = 0): Promise<void> {
  t.cluster.createShard(org, ns, node);
  const batch = [];
  for (let i = 0; i < rows; i++) {
    batch.push({ id: `t${String(i).padStart(5, '0')}`, title: `task ${i}`, body: bodyBytes ? Buffer.alloc(bodyBytes, i % 251) : null });
    if (batch.length === 1000) await t.replicator.putMany(org, ns, batch.splice(0));
  }
  if (batch.length) await t.replicator.putMany(org, ns, batch);
}

/** Every file under a node's directory, names only, sorted. */
export function filesOn(t: TestCluster, node: string): string[] {
  return fs.readdirSync(t.cluster.catalog.node(node).dir).sort();
}

/** The activities a worker of this cluster serves, asking the suite's server about jobs. */
export function activitiesOf(t: TestCluster, testHooks: ActivityTestHooks = {}) {
  return createActivities({ cluster: t.cluster, replicator: t.replicator, jobs: jobLookup(suite().client), testHooks });
}

/**
 * Runs `fn` with workers serving a private task queue (and the cluster's own queue)
 * over this cluster; the client starts jobs for this cluster.
 */
export async function withWorker<T>(
  t: TestCluster,
  fn: (migrations: MigrationClient, taskQueue: string) => Promise<T>,
  testHooks: ActivityTestHooks = {},
): Promise<T> {
  const taskQueue = `test-${randomUUID()}`;
  const workers = await createClusterWorkers({
    connection: suite().workerConnection,
    taskQueue,
    clusterId: t.cluster.catalog.clusterId,
    workflowBundle: suite().bundle,
    activities: activitiesOf(t, testHooks),
  });
  const migrations = new MigrationClient(suite().client, taskQueue, undefined, t.cluster.catalog.clusterId);
  return (await runWorkers(workers, fn(migrations, taskQueue))) as T;
}
