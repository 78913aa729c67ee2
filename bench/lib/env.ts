// Everything one bench run stands on: a scratch directory, its own Temporal dev server
// on free ports (never one already running), a cluster with two nodes, a client, and
// the worker processes it started. close() stops them and deletes the scratch data.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { MigrationClient } from '../../client';
import { Cluster } from '../../store/cluster';
import { LocalReplicator } from '../../store/local-replicator';
import { startDevServer, type DevServer } from '../../temporal/dev-server';
import { startWorker, type BenchWorker } from './worker-process';

export const NODES = ['node-a', 'node-b'] as const;

export interface BenchEnv {
  scratch: string;
  dataRoot: string;
  server: DevServer;
  client: Client;
  cluster: Cluster;
  replicator: LocalReplicator;
  migrations(taskQueue: string): MigrationClient;
  startWorker(taskQueue: string): Promise<BenchWorker>;
  close(): Promise<void>;
}

export async function openEnv(workDir: string, keep: boolean): Promise<BenchEnv> {
  fs.mkdirSync(workDir, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(workDir, 'run-'));
  const dataRoot = path.join(scratch, 'data');
  const server = await startDevServer({ dbFile: path.join(scratch, 'temporal.db'), headless: true });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const cluster = await Cluster.open(dataRoot);
  for (const node of NODES) await cluster.addNode(node);
  const workers: BenchWorker[] = [];
  return {
    scratch,
    dataRoot,
    server,
    client,
    cluster,
    replicator: new LocalReplicator(cluster),
    migrations: (taskQueue) => new MigrationClient(client, taskQueue, undefined, cluster.catalog.clusterId),
    async startWorker(taskQueue) {
      const worker = await startWorker({ address: server.address, dataRoot, taskQueue, logFile: path.join(scratch, `worker-${taskQueue}.log`) });
      workers.push(worker);
      return worker;
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      await connection.close();
      await server.stop();
      cluster.close();
      if (!keep) fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
