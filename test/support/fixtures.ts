// A cluster under a fresh temp data root with two nodes, shards filled with rows,
// served on a task queue of its own (the coordinator and an in-process agent per node). The catalog is SQLite, or a
// fresh database on the suite's PostgreSQL (`catalog: 'postgres'`, or
// TASKSD_TEST_CATALOG=postgres for every test that does not choose).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { testFaults, type ActivityTestHooks } from '../../faults';
import { MigrationClient } from '../../client';
import { Cluster } from '../../store/cluster';
import { LocalReplicator } from '../../store/local-replicator';
import { clusterToken } from '../../common/cluster-token';
import { defaultNodeDir } from '../../store/layout';
import { startEmbeddedCluster, type EmbeddedCluster } from '../../temporal/embedded-cluster';
import { postgres } from './postgres-hooks';
import { suite } from './root-hooks';

export type CatalogDriver = 'sqlite' | 'postgres';
export const CATALOG_DRIVERS: CatalogDriver[] = ['sqlite', 'postgres'];

export interface TestCluster {
  root: string;
  cluster: Cluster;
  replicator: LocalReplicator;
  driver: CatalogDriver;
  /** What a subprocess (CLI, worker, writer) needs to open this cluster: TASKSD_DATA and TASKSD_CATALOG. */
  env: { TASKSD_DATA: string; TASKSD_CATALOG?: string };
  close(): Promise<void>;
}

/** The driver a test runs on when it does not choose. */
export function defaultDriver(): CatalogDriver {
  return process.env.TASKSD_TEST_CATALOG === 'postgres' ? 'postgres' : 'sqlite';
}

export async function makeCluster(options: { nodes?: string[]; retainSource?: boolean; catalog?: CatalogDriver } = {}): Promise<TestCluster> {
  const root = fs.mkdtempSync(path.join(suite().scratch, 'cluster-'));
  const driver = options.catalog ?? defaultDriver();
  const catalog = driver === 'postgres' ? await postgres().createDatabase(`c_${path.basename(root).replace(/\W/g, '_').toLowerCase()}`) : undefined;
  const cluster = await Cluster.open(root, { retainSource: options.retainSource, catalog });
  for (const node of options.nodes ?? ['node-a', 'node-b']) await cluster.addNode(node);
  const env = catalog ? { TASKSD_DATA: root, TASKSD_CATALOG: catalog } : { TASKSD_DATA: root };
  return { root, cluster, replicator: new LocalReplicator(cluster), driver, env, close: () => cluster.close() };
}

/** Creates a shard on `node` and puts `rows` tasks (ids t00000…) into it. */
export async function seedShard(t: TestCluster, org: string, ns: string, node: string, rows: number, bodyBytes = 0): Promise<void> {
  await t.cluster.createShard(org, ns, node);
  const batch = [];
  for (let i = 0; i < rows; i++) {
    batch.push({ id: `t${String(i).padStart(5, '0')}`, title: `task ${i}`, body: bodyBytes ? Buffer.alloc(bodyBytes, i % 251) : null });
    if (batch.length === 1000) await t.replicator.putMany(org, ns, batch.splice(0));
  }
  if (batch.length) await t.replicator.putMany(org, ns, batch);
}

/** Every file under a node's (default) directory, names only, sorted. */
export function filesOn(t: TestCluster, node: string): string[] {
  return fs.readdirSync(defaultNodeDir(t.root, node)).sort();
}

/**
 * Serves this cluster on `taskQueue` as `npm start` would: the coordinator's workers
 * and an in-process agent per node (the same code as `tasksd node serve`). Stop it.
 */
export function serveCluster(t: TestCluster, taskQueue: string, testHooks: ActivityTestHooks = {}): Promise<EmbeddedCluster> {
  return startEmbeddedCluster({
    cluster: t.cluster,
    connection: suite().workerConnection,
    client: suite().client,
    taskQueue,
    workflowBundle: suite().bundle,
    token: clusterToken(t.root),
    faults: testFaults(testHooks),
  });
}

/** Runs `fn` while `serving` runs; a worker that fails ends it with that failure instead of a hang. */
export async function whileServing<T>(serving: EmbeddedCluster, fn: () => Promise<T>): Promise<T> {
  try {
    return await Promise.race([
      fn(),
      serving.workers.whenStopped().then(() => Promise.reject(new Error('the test cluster\'s workers stopped before the test ended'))),
    ]);
  } finally {
    await serving.stop();
  }
}

/**
 * Runs `fn` with the cluster served on a private task queue (the coordinator and an
 * agent per node); the client starts jobs for this cluster.
 */
export async function withWorker<T>(
  t: TestCluster,
  fn: (migrations: MigrationClient, taskQueue: string) => Promise<T>,
  testHooks: ActivityTestHooks = {},
): Promise<T> {
  const taskQueue = `test-${randomUUID()}`;
  const serving = await serveCluster(t, taskQueue, testHooks);
  const migrations = new MigrationClient(suite().client, taskQueue, undefined, t.cluster.catalog.clusterId);
  return whileServing(serving, () => fn(migrations, taskQueue));
}
