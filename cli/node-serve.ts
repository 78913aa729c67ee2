// `tasksd node serve <id> --data DIR --listen HOST:PORT`: a node agent in the
// foreground (docs/NODES.md). It registers the node with its URL in the catalog
// (refused when another agent or directory holds the id, unless --replace), serves the
// node's HTTP API, and runs a Temporal worker with the node's activities on its own
// task queue. SIGINT/SIGTERM drain it: steps in flight finish, then it stops serving.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { heartbeatIfInActivity } from '../activities/heartbeat';
import { clusterToken, tlsCaFile } from '../common/cluster-token';
import { dataRoot, taskQueue } from '../common/config';
import { ErrorType, TasksdError } from '../common/errors';
import { faultsFromEnv } from '../faults';
import { id } from './options';

interface ServeFlags {
  data: string;
  listen: { host: string; port: number };
  advertise?: string;
  replace?: boolean;
  tlsCert?: string;
  tlsKey?: string;
}

export function registerNodeServe(node: Command): void {
  node
    .command('serve')
    .description("run this host's node agent: serve the shard files under --data to the cluster (foreground; SIGTERM drains it)")
    .argument('<id>', 'node id', id('node'))
    .requiredOption('--data <dir>', "the node's directory of shard files (made if missing)")
    .requiredOption('--listen <host:port>', 'address to serve on, e.g. 0.0.0.0:7420', listenAddress)
    .option('--advertise <url>', 'the URL peers and clients use (default: http(s)://<listen host>:<port>)', advertiseUrl)
    .option('--replace', 'take over a node id registered with another URL or directory')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'and this private key (PEM)')
    .action((nodeId: string, opts: ServeFlags) => serve(nodeId, opts));
}

async function serve(nodeId: string, opts: ServeFlags): Promise<void> {
  const say = (line: string) => console.log(`tasksd node ${nodeId}: ${line}`);
  // First, so that with TASKSD_FAULTS=1 the first line of the log says fault injection is on.
  const faults = faultsFromEnv(process.env, say, (line) => console.warn(`tasksd node ${nodeId}: ${line}`));
  if (!!opts.tlsCert !== !!opts.tlsKey) throw new TasksdError(ErrorType.InvalidInput, '--tls-cert and --tls-key go together');
  const tls = opts.tlsCert && opts.tlsKey ? { cert: readPem(opts.tlsCert), key: readPem(opts.tlsKey) } : undefined;
  // Loaded on demand: the CLI's other commands skip the Temporal worker. require, not
  // import(): tsx leaves import() to Node's ESM loader, which wants file extensions.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { Cluster } = require('../store/cluster') as typeof import('../store/cluster');
  const { startNodeAgent } = require('../agent/serve') as typeof import('../agent/serve');
  const { temporalTarget } = require('../temporal/connection') as typeof import('../temporal/connection');
  const { connectWorker } = require('../temporal/worker-connection') as typeof import('../temporal/worker-connection');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const token = clusterToken(dataRoot(), process.env, { create: false });
  const target = temporalTarget();
  const cluster = await Cluster.fromEnv({ onCatalogWait: (message) => (say(message), heartbeatIfInActivity()) });
  try {
    const connection = await connectWorker(target);
    try {
      const agent = await startNodeAgent({
        cluster,
        nodeId,
        dir: path.resolve(opts.data),
        createDir: true,
        listen: opts.listen,
        advertise: opts.advertise,
        embedded: false,
        replace: opts.replace,
        token,
        tls,
        caFile: tlsCaFile(),
        temporal: { connection, namespace: target.namespace, taskQueue: taskQueue() },
        retainSource: cluster.options.retainSource,
        faults,
        log: say,
      });
      say(`serving ${path.resolve(opts.data)} at ${agent.url}; task queue ${agent.taskQueue} on ${target.address}; catalog ${cluster.catalog.location}`);
      try {
        await agent.worker.run(); // returns after SIGINT/SIGTERM once in-flight steps are done
      } finally {
        await agent.close();
      }
      say('stopped');
    } finally {
      await connection.close();
    }
  } finally {
    await cluster.close();
  }
}

function listenAddress(value: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) throw new InvalidArgumentError('use HOST:PORT, e.g. 0.0.0.0:7420 or 127.0.0.1:0');
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}

function advertiseUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url.toString().replace(/\/+$/, '');
  } catch {
    throw new InvalidArgumentError('use an http:// or https:// URL, e.g. http://10.0.0.2:7420');
  }
}

function readPem(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new TasksdError(ErrorType.InvalidInput, `cannot read ${file}: ${(err as Error).message}`);
  }
}
