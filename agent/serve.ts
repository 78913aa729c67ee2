// A node agent: one node's shard files, served over HTTP to clients and peers, and a
// Temporal worker (activities only, no workflow bundle) on the node's own task queue
// for the steps of moves that touch those files. `tasksd node serve` runs one per
// host; the coordinator process runs one per embedded node, the same code.
import * as fs from 'node:fs';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createNodeActivities } from '../activities/node';
import type { FaultPoints } from '../faults';
import { nodeTaskQueue } from '../common/names';
import type { Cluster } from '../store/cluster';
import { Peers } from '../transport/peers';
import { createAgentServer } from './http-server';
import { NodeStore } from './node-store';
import { SnapshotPins } from './snapshots';
import { sweepNode } from './sweep';

export interface NodeAgentOptions {
  cluster: Cluster;
  nodeId: string;
  /** Where the node's files are. */
  dir: string;
  /** Make `dir` when it is missing (`node serve --data`). An embedded node's directory is made by `node add`: one gone missing (an unmounted disk) is reported by the moves, not papered over. */
  createDir?: boolean;
  listen: { host: string; port: number };
  /** The URL peers and clients use, when it differs from the listen address (NAT, a DNS name). */
  advertise?: string;
  /** An embedded node (added with `tasksd node add`, served by the coordinator) or an agent of its own. */
  embedded: boolean;
  /** Take over a node id registered elsewhere. */
  replace?: boolean;
  token: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  caFile?: string;
  temporal: { connection: NativeConnection; namespace?: string; taskQueue: string };
  retainSource?: boolean;
  /** Fault points (faults/); NO_FAULTS unless the process was started with TASKSD_FAULTS=1. */
  faults?: FaultPoints;
  log?: (line: string) => void;
  /** How often the node sweeps what is not its own (default 5 minutes). */
  sweepEveryMs?: number;
}

export interface NodeAgent {
  nodeId: string;
  url: string;
  taskQueue: string;
  worker: Worker;
  /** Drains the worker (in-flight steps finish), then stops serving. */
  close(): Promise<void>;
}

export async function startNodeAgent(opts: NodeAgentOptions): Promise<NodeAgent> {
  const { cluster, nodeId } = opts;
  const log = opts.log ?? (() => {});
  if (opts.createDir) fs.mkdirSync(opts.dir, { recursive: true });
  const scheme = opts.tls ? 'https' : 'http';
  const store = new NodeStore(cluster, nodeId);
  const pins = new SnapshotPins(store);
  const server = createAgentServer({ nodeId, dir: opts.dir, clusterId: cluster.catalog.clusterId, token: opts.token, store, snapshots: pins, tls: opts.tls });
  await server.listen({ host: opts.listen.host, port: opts.listen.port });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.listen.port;
  const url = (opts.advertise ?? `${scheme}://${urlHost(opts.listen.host)}:${port}`).replace(/\/+$/, '');
  const peers = new Peers(cluster.catalog, opts.token, opts.caFile);
  let worker: Worker | undefined;
  try {
    if (opts.embedded) await cluster.catalog.setEmbeddedUrl(nodeId, url);
    else await cluster.catalog.registerNode({ id: nodeId, dir: opts.dir, url }, { replace: opts.replace });
    const swept = await sweepNode(cluster.catalog, nodeId, opts.dir).catch((err: Error) => (log(`node ${nodeId}: sweep failed: ${err.message}`), []));
    if (swept.length > 0) log(`node ${nodeId}: removed what moves left behind: ${swept.join(', ')}`);
    const taskQueue = nodeTaskQueue(opts.temporal.taskQueue, cluster.catalog.clusterId, nodeId);
    worker = await Worker.create({
      connection: opts.temporal.connection,
      namespace: opts.temporal.namespace,
      taskQueue,
      activities: createNodeActivities({ store, pins, peer: (id) => peers.to(id), retainSource: opts.retainSource, faults: opts.faults }),
      // Copy progress reaches the server (and the Web UI) every second.
      maxHeartbeatThrottleInterval: '1s',
    });
    const sweeper = setInterval(() => {
      sweepNode(cluster.catalog, nodeId, opts.dir).then(
        (removed) => removed.length > 0 && log(`node ${nodeId}: removed what moves left behind: ${removed.join(', ')}`),
        (err: Error) => log(`node ${nodeId}: sweep failed, will try again: ${err.message}`),
      );
    }, opts.sweepEveryMs ?? 300_000);
    sweeper.unref();
    const running = worker;
    return {
      nodeId,
      url,
      taskQueue,
      worker: running,
      async close() {
        clearInterval(sweeper);
        if (running.getState() === 'RUNNING') running.shutdown();
        await server.close();
        await pins.close();
        await peers.close();
      },
    };
  } catch (err) {
    await server.close();
    await pins.close();
    await peers.close();
    throw err;
  }
}

/** `::` and `0.0.0.0` are listen addresses, not places to reach: peers on this host use loopback. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
