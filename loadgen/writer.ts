// One load-generating writer process: puts at a steady rate, the way an application
// process would. Each write resolves the shard's current owner through the catalog,
// so the writer follows the shard when a move hands it over. A refused write (locked,
// or caught mid-cut-over) is retried with a short backoff; one that still fails is
// logged as refused. Every write that ends is appended to the log before the next
// starts.
//
// Two ways to write (--via):
//   local   (default) the local replicator applies the write to the owner's file from
//           this process: the writer must run on the host that has the files.
//   agent   over HTTP to the owner's node agent (transport/cluster-client.ts), with the
//           cluster token (TASKSD_CLUSTER_TOKEN, or cluster.token under --data): what an
//           application on another host does. A write the agent refuses before applying
//           anything (locked, moved, missing) is retried; any other failure — an agent
//           that did not answer, say, when the write may or may not have applied — is
//           logged as refused with its reason, never retried.
//
//   node --require tsx/cjs loadgen/writer.ts --data ROOT --org O --ns N --rate 200 \
//     --duration-ms 10000 --log w1.jsonl --writer-id w1 [--keys 100] [--body-bytes 0] [--via local|agent]
//
// --duration-ms 0 runs until SIGTERM/SIGINT. Stdout: "ready", then "ack <seq> <ms>"
// per acknowledged write (what the runner in writers.ts counts).
import { parseArgs } from 'node:util';
import { clusterToken, tlsCaFile } from '../common/cluster-token';
import { ErrorType, TasksdError } from '../common/errors';
import { catalogSetting } from '../common/config';
import { Cluster } from '../store/cluster';
import { LocalReplicator } from '../store/local-replicator';
import type { TaskInput } from '../store/replicator';
import { ClusterClient } from '../transport/cluster-client';
import { Peers } from '../transport/peers';
import { WriteLog } from './log';
import { startWriteLoop } from './write-loop';

/** Refusals that happen before a write applies anything, so retrying cannot double-apply. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof TasksdError) return err.type === ErrorType.ShardLocked || err.type === ErrorType.ShardMissing;
  const code = (err as { code?: unknown }).code;
  // BUSY: BEGIN IMMEDIATE or a catalog read timed out waiting. IOERR_FSTAT: the file
  // resolved as owner was retired by a cut-over before the transaction began.
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code === 'SQLITE_IOERR_FSTAT');
}

/**
 * Through an agent: the refusals an agent answers before it applies anything. Moved is
 * followed once by ClusterClient; a second one (the shard moved again meanwhile) is
 * retried from the catalog.
 */
export function isRetryableViaAgent(err: unknown): boolean {
  return err instanceof TasksdError && (err.type === ErrorType.ShardLocked || err.type === ErrorType.ShardMissing || err.type === ErrorType.Moved);
}

export type WriteVia = 'local' | 'agent';

function options() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      org: { type: 'string' },
      ns: { type: 'string' },
      rate: { type: 'string', default: '100' },
      'duration-ms': { type: 'string', default: '0' },
      log: { type: 'string' },
      'writer-id': { type: 'string', default: 'w1' },
      keys: { type: 'string', default: '100' },
      'body-bytes': { type: 'string', default: '0' },
      'give-up-ms': { type: 'string', default: '30000' },
      via: { type: 'string', default: 'local' },
    },
  });
  if (values.via !== 'local' && values.via !== 'agent') throw new Error(`--via must be local or agent, not ${values.via}`);
  const missing = (['data', 'org', 'ns', 'log'] as const).filter((k) => !values[k]);
  if (missing.length > 0) throw new Error(`missing --${missing.join(', --')}`);
  const number = (name: keyof typeof values, min: number) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}`);
    return n;
  };
  return {
    dataRoot: values.data!,
    org: values.org!,
    ns: values.ns!,
    logFile: values.log!,
    writerId: values['writer-id']!,
    rate: number('rate', 0.001),
    durationMs: number('duration-ms', 0),
    keys: Math.floor(number('keys', 1)),
    body: Buffer.alloc(Math.floor(number('body-bytes', 0)), 0x61),
    giveUpMs: number('give-up-ms', 0),
    via: values.via as WriteVia,
  };
}

async function run(): Promise<void> {
  const opts = options();
  const cluster = await Cluster.open(opts.dataRoot, { catalog: catalogSetting() });
  let peers: Peers | undefined;
  let put: (task: TaskInput) => Promise<{ seq: number }>;
  if (opts.via === 'agent') {
    peers = new Peers(cluster.catalog, clusterToken(cluster.dataRoot, process.env, { create: false }), tlsCaFile());
    const agents = new ClusterClient(cluster.catalog, peers);
    put = (task) => agents.put(opts.org, opts.ns, task);
  } else {
    const replicator = new LocalReplicator(cluster);
    put = (task) => replicator.propose({ op: 'put', org: opts.org, ns: opts.ns, task });
  }
  const log = new WriteLog(opts.logFile);
  const loop = startWriteLoop({
    ...opts,
    put,
    retryable: opts.via === 'agent' ? isRetryableViaAgent : isRetryable,
    log,
    onRecord: (record) => {
      if (record.ok) process.stdout.write(`ack ${record.seq} ${record.at.toFixed(3)}\n`);
    },
  });
  const stop = () => void loop.stop();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write('ready\n');
  try {
    await loop.done;
  } finally {
    log.close();
    await peers?.close();
    await cluster.close();
  }
}

if (require.main === module) {
  run().catch((err) => {
    console.error(`loadgen writer: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  });
}
