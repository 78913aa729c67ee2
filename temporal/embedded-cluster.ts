// The coordinator and, in the same process, an agent for every embedded node of the
// cluster (nodes added with `tasksd node add`): the embedded default of `npm start`,
// and what tests and the demo run. The agents are the same code `tasksd node serve`
// runs, on 127.0.0.1 at free ports recorded in the catalog; nodes added while it runs
// are served within a couple of seconds. Two coordinators of one cluster on one host
// both serve its embedded nodes (the same directories); the catalog records the one
// that started last, and when that one stops, the others find its address dead and
// record their own, so moves never wait on a coordinator that is gone.
import * as net from 'node:net';
import type { Client } from '@temporalio/client';
import type { NativeConnection, WorkflowBundleOption } from '@temporalio/worker';
import { createCoordinatorActivities } from '../activities';
import type { FaultPoints } from '../faults';
import { startNodeAgent, type NodeAgent } from '../agent/serve';
import type { Cluster } from '../store/cluster';
import { createCoordinatorWorkers } from './cluster-workers';
import { jobLookup, jobResult } from './job-lookup';
import { ClusterClient } from '../transport/cluster-client';
import { Peers } from '../transport/peers';
import { WorkerGroup } from './worker-group';

/** Whether anything listens at an agent's address (a connection is accepted within a second). */
function answers(url: string | null | undefined): Promise<boolean> {
  if (!url) return Promise.resolve(false);
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface EmbeddedClusterOptions {
  cluster: Cluster;
  connection: NativeConnection;
  /** For the reconciler's questions about jobs. */
  client: Client;
  namespace?: string;
  taskQueue: string;
  workflowBundle: WorkflowBundleOption;
  token: string;
  caFile?: string;
  /** Fault points (faults/); production passes NO_FAULTS or faultsFromEnv's answer. */
  faults?: FaultPoints;
  log?: (line: string) => void;
  /** How often to look for newly added embedded nodes (default 2 s). */
  watchNodesEveryMs?: number;
}

export interface EmbeddedCluster {
  workers: WorkerGroup;
  agents: Map<string, NodeAgent>;
  /** Starts agents for embedded nodes that have none yet. */
  serveNewNodes(): Promise<NodeAgent[]>;
  /** Drains the workers, then stops the agents. */
  stop(): Promise<void>;
}

export async function startEmbeddedCluster(opts: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
  const { cluster } = opts;
  const log = opts.log ?? (() => {});
  const workers = new WorkerGroup();
  const agents = new Map<string, NodeAgent>();
  // Fleet jobs size shards through the agents, as `tasksd shards` does.
  const peers = new Peers(cluster.catalog, opts.token, opts.caFile);
  const agentsView = new ClusterClient(cluster.catalog, peers);
  const coordinator = await createCoordinatorWorkers({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    clusterId: cluster.catalog.clusterId,
    workflowBundle: opts.workflowBundle,
    activities: createCoordinatorActivities({
      cluster,
      jobs: jobLookup(opts.client),
      faults: opts.faults,
      listShards: () => agentsView.listShards(),
      jobResult: jobResult(opts.client),
    }),
  });
  for (const worker of coordinator) workers.add(worker);

  let serving: Promise<NodeAgent[]> = Promise.resolve([]);
  const serveNewNodes = () =>
    (serving = serving.catch(() => []).then(async () => {
      const started: NodeAgent[] = [];
      for (const node of await cluster.catalog.listNodes()) {
        if (node.kind !== 'embedded') continue;
        const mine = agents.get(node.id);
        if (mine) {
          if (node.url !== mine.url && !(await answers(node.url))) {
            await cluster.catalog.setEmbeddedUrl(node.id, mine.url);
            log(`node ${node.id}: ${node.url ?? 'no address'} does not answer (its coordinator stopped); serving it at ${mine.url}`);
          }
          continue;
        }
        const agent = await startNodeAgent({
          cluster,
          nodeId: node.id,
          dir: node.dir,
          listen: { host: '127.0.0.1', port: 0 },
          embedded: true,
          token: opts.token,
          caFile: opts.caFile,
          temporal: { connection: opts.connection, namespace: opts.namespace, taskQueue: opts.taskQueue },
          retainSource: cluster.options.retainSource,
          faults: opts.faults,
          log,
        });
        agents.set(node.id, agent);
        workers.add(agent.worker);
        log(`serving node ${node.id} (${node.dir}) at ${agent.url}, task queue ${agent.taskQueue}`);
        started.push(agent);
      }
      return started;
    }));
  await serveNewNodes();
  const watcher = setInterval(() => {
    serveNewNodes().catch((err: Error) => log(`could not serve a new node, will try again: ${err.message}`));
  }, opts.watchNodesEveryMs ?? 2000);
  watcher.unref();

  return {
    workers,
    agents,
    serveNewNodes,
    async stop() {
      clearInterval(watcher);
      await serving.catch(() => undefined);
      await workers.stop();
      await Promise.all([...agents.values()].map((agent) => agent.close()));
      await peers.close();
    },
  };
}
