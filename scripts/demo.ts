// `npm run demo`: the multi-host shape on one machine, for a newcomer. Three node
// agents run as separate processes (`tasksd node serve`), each with its own directory
// and port; the coordinator runs in this process. A shard is created on node-a and
// loaded through its agent, then moved online node-a → node-b and offline node-b →
// node-c while writer processes put through the owner's agent; after each move it
// prints the job, the shards, the Web UI link and what loadgen's checker says about
// the writes (every acknowledged write on the new owner, no refused write applied).
// Then the fleet commands, run as an operator types them: twelve small shards are
// made on node-a, `tasksd plan drain node-a` prints the plan, `tasksd drain node-a
// --wait` empties the node as one fleet job, and `tasksd rebalance --wait` spreads the
// shards again.
//
// Zero configuration: with no Temporal server configured and none listening it brings
// up the embedded dev server and, at the end, keeps it running for the Web UI until
// Ctrl-C. Its data root (./data-demo) is wiped first and holds the SQLite catalog the
// processes share, the cluster token (cluster.token) and the nodes' directories
// (hosts/a, hosts/b, hosts/c). It uses its own task queue, so it never touches a real
// cluster or a worker already running; TASKSD_DATA, TASKSD_CATALOG,
// TASKSD_CLUSTER_TOKEN, TASKSD_TLS_CA and TASKSD_TASK_QUEUE are ignored.
//
// Settings (all optional):
//   TEMPORAL_ADDRESS=host:port  use that server (and leave it running) instead of the embedded one
//   TASKSD_DEMO_EXIT=1          exit at the end instead of waiting for Ctrl-C (tests, CI)
//   TASKSD_DEMO_DATA=DIR        the demo's data root instead of ./data-demo (wiped first)
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Table from 'cli-table3';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { MigrationClient, type Job, type MigrationMode } from '../client';
import { formatBytes } from '../cli/output';
import { followJob } from '../cli/progress';
import { clusterToken } from '../common/cluster-token';
import { FLEET_WORKFLOW_TYPE, WORKFLOW_TYPE } from '../common/names';
import { checkWrites, startWriters, type WriterReport } from '../loadgen';
import { Cluster } from '../store/cluster';
import { startEmbeddedCluster } from '../temporal/embedded-cluster';
import { connectClient, ensureSearchAttributes, temporalTarget } from '../temporal/connection';
import { freePort } from '../temporal/dev-server';
import { startEmbeddedIfNeeded } from '../temporal/embedded';
import { connectWorker } from '../temporal/worker-connection';
import { ClusterClient } from '../transport/cluster-client';
import { Peers } from '../transport/peers';

const PROJECT_ROOT = path.resolve(__dirname, '..');
const TASK_QUEUE = 'shard-migration-demo';
const ORG = 'acme';
const NS = 'default';
const NODES = ['node-a', 'node-b', 'node-c'];
const ROWS = 8000;
const ROW_BYTES = 1024;
/** The copy's cap (`tasksd migrate --max-rate 2MiB`): slow enough for the progress bar to be seen. */
const MAX_RATE = 2 * 1024 * 1024;
/** Modest load: every put is an fsync on a small machine. */
const WRITERS = 2;
const WRITES_PER_SEC = 10;
/** Acknowledgements (all writers) to see before a move and again after it, on the new owner. */
const SETTLE_ACKS = 10;
const AGENT_START_TIMEOUT_MS = 60_000;
const AGENT_STOP_TIMEOUT_MS = 30_000;
/** Small shards for the fleet part (drain, rebalance). */
const FLEET_SHARDS = 12;

interface AgentProcess {
  nodeId: string;
  url: string;
  dir: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

const agents: AgentProcess[] = [];

async function main(): Promise<void> {
  // The SDK's per-worker INFO lines would bury the demo's own.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dataRoot = path.resolve(process.env.TASKSD_DEMO_DATA || path.join(PROJECT_ROOT, 'data-demo'));
  for (const name of ['TASKSD_CATALOG', 'TASKSD_CLUSTER_TOKEN', 'TASKSD_TLS_CA', 'TASKSD_RETAIN_SOURCE']) delete process.env[name];
  // What the agents and writers (child processes) inherit.
  process.env.TASKSD_DATA = dataRoot;
  process.env.TASKSD_TASK_QUEUE = TASK_QUEUE;

  const target = temporalTarget();
  const embedded = await startEmbeddedIfNeeded(target);
  const uiBase = embedded?.uiUrl ?? 'http://localhost:8233';
  say(embedded ? `started the embedded Temporal dev server at ${embedded.address} (Web UI ${uiBase})` : `using the Temporal server at ${target.address}`);

  wipe(dataRoot);
  const cluster = await Cluster.open(dataRoot); // the SQLite catalog under the data root
  clusterToken(dataRoot); // made now, read by every agent and writer
  say(`data root ${show(dataRoot)}: the SQLite catalog every process here shares, and the cluster token (cluster.token)`);
  const { client, connection } = await connectClient(target);
  await ensureSearchAttributes(connection, target.namespace);
  for (const id of await endLeftovers(client)) say(`terminated job ${id}, left running by an interrupted demo (its cluster is gone)`);
  const workerConnection = await connectWorker(target);
  const peers = new Peers(cluster.catalog, clusterToken(dataRoot));
  const exitHandler = () => agents.forEach((a) => a.child.exitCode === null && a.child.signalCode === null && a.child.kill('SIGTERM'));
  process.on('exit', exitHandler);
  try {
    const coordinator = await startEmbeddedCluster({
      cluster,
      connection: workerConnection,
      client,
      namespace: target.namespace,
      taskQueue: TASK_QUEUE,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN') }),
      token: clusterToken(dataRoot),
      log: say,
    });
    say(`coordinator running in this process (workflows and catalog steps, task queue ${TASK_QUEUE})`);
    try {
      say('starting three node agents, each its own process with its own directory and port:');
      await Promise.all(NODES.map((nodeId) => startAgent(nodeId, path.join(dataRoot, 'hosts', nodeId.replace(/^node-/, '')))));
      printTable(
        ['node', 'agent', 'pid', 'directory'],
        agents.map((a) => [a.nodeId, a.url, a.child.pid ?? '?', show(a.dir)]),
      );
      say(`each agent's whole output (Temporal SDK logs included) is in ${show(path.join(dataRoot, 'hosts'))}/<a|b|c>.log`);

      const cc = new ClusterClient(cluster.catalog, peers);
      await cc.createShard(ORG, NS, 'node-a');
      for (let start = 0; start < ROWS; start += 1000) {
        const batch = Array.from({ length: Math.min(1000, ROWS - start) }, (_, i) => ({
          id: `task-${start + i}`,
          title: `task ${start + i}`,
          body: Buffer.alloc(ROW_BYTES, (start + i) % 251),
        }));
        await cc.load(ORG, NS, batch);
      }
      say(`created shard ${ORG}/${NS} on node-a and loaded ${ROWS.toLocaleString('en')} rows of ${ROW_BYTES} bytes through its agent`);
      await printShards(cc);

      const migrations = new MigrationClient(client, TASK_QUEUE, undefined, cluster.catalog.clusterId);
      const move = async (to: string, mode: MigrationMode, what: string) => {
        console.log('');
        say(`${what}`);
        const logDir = path.join(dataRoot, 'writer-logs', mode);
        const writers = await startWriters({
          dataRoot,
          org: ORG,
          ns: NS,
          writers: WRITERS,
          ratePerSec: WRITES_PER_SEC,
          keys: 20,
          logDir,
          via: 'agent',
          writerIdPrefix: `${mode}-w`,
        });
        let job: Job;
        let writes: WriterReport;
        try {
          await writers.waitForAcks(SETTLE_ACKS);
          say(`${WRITERS} writer processes are putting ${WRITES_PER_SEC} writes/s each through the owner's agent`);
          const fromMs = Date.now();
          const id = await migrations.start({ org: ORG, ns: NS, to, mode, maxBytesPerSecond: MAX_RATE });
          say(`job ${id}: moving ${ORG}/${NS} to ${to} (${mode}), copy capped at ${formatBytes(MAX_RATE)}/s (--max-rate) so the progress shows`);
          job = await followJob(migrations, id, process.stdout);
          writers.mark('move', fromMs, Date.now());
          await writers.waitForAcks(SETTLE_ACKS); // writes flow again, on the new owner
        } catch (err) {
          await writers.stop().catch(() => undefined);
          throw err;
        }
        writes = await writers.stop();
        const check = await checkWrites({ dataRoot, org: ORG, ns: NS, logs: writes.logs });
        const pause = job.pauseMs === undefined ? 'no write pause recorded' : `writes paused ${job.pauseMs} ms`;
        say(`job ${job.id}: ${job.status}${job.error ? ` (${job.error})` : ''}, ${formatBytes(job.bytes)} copied, ${pause}, checksum ${job.checksum ?? '-'}`);
        await printShards(cc);
        say(`Web UI: ${uiBase}/namespaces/${encodeURIComponent(target.namespace)}/workflows/${encodeURIComponent(job.id)}`);
        const gap = writes.windows[0]?.longestGap;
        say(
          `writers: ${check.acked} writes acknowledged, lost ${check.lost} (checked on ${check.owner}, the owner now); ` +
            `${check.refused} refused for good, ${check.phantom === 0 ? 'none applied' : `${check.phantom} applied anyway`}; ` +
            `${writes.retried} waited out the lock and were retried${gap ? `; longest wait between acknowledgements during the move ${Math.round(gap.ms)} ms` : ''}`,
        );
        for (const problem of check.problems) say(`  ${problem}`);
        if (job.status !== 'released' || check.lost !== 0 || check.phantom !== 0) throw new Error(`the ${mode} move did not end as it should (see above)`);
      };
      await move('node-b', 'online', 'Online move node-a → node-b: the copy runs while the shard takes writes; writes wait only for the cut-over.');
      await move('node-c', 'offline', 'Offline move node-b → node-c: writes are refused (and retried by the writers) for the whole copy.');

      await fleetMoves(cc, uiBase, target.namespace);

      console.log('');
      say('stopping the agents (SIGTERM: each drains its steps in flight, then stops serving)');
      await Promise.all(agents.map((a) => stopAgent(a)));
    } finally {
      await coordinator.stop();
    }
  } finally {
    process.removeListener('exit', exitHandler);
    exitHandler(); // after a failure: no agent outlives the demo
    await peers.close();
    await cluster.close();
    await connection.close();
    await workerConnection.close();
  }
  if (embedded) {
    if (process.env.TASKSD_DEMO_EXIT === '1') {
      await embedded.stop();
      say('done; stopped the embedded dev server (TASKSD_DEMO_EXIT=1)');
      return;
    }
    say(`done. The dev server keeps running so you can open the Web UI (${uiBase}); press Ctrl-C to stop it.`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    await embedded.stop();
  } else {
    say('done');
  }
}

/**
 * The fleet commands on this cluster, as an operator runs them (the same binary, the
 * demo's data root and task queue): a plan, a drain of node-a, a rebalance.
 */
async function fleetMoves(cc: ClusterClient, uiBase: string, namespace: string): Promise<void> {
  console.log('');
  say(`Fleet moves: ${FLEET_SHARDS} small shards on node-a, then a plan, a drain and a rebalance, each move a child job of one fleet job.`);
  for (let i = 0; i < FLEET_SHARDS; i++) {
    const ns = `team-${String(i).padStart(2, '0')}`;
    await cc.createShard(ORG, ns, 'node-a');
    await cc.load(ORG, ns, Array.from({ length: 50 + 25 * i }, (_, r) => ({ id: `t${r}`, title: `task ${r}`, body: Buffer.alloc(256, r % 251) })));
  }
  await tasksd(['plan', 'drain', 'node-a']);
  await tasksd(['drain', 'node-a', '--wait']);
  // The big shard the moves above carried stays where it is; the rest is spread by count.
  await tasksd(['rebalance', '--strategy', 'by-count', '--exclude', `${ORG}/${NS}`, '--wait']);
  await printShards(cc);
  say(`Web UI: ${uiBase}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent("WorkflowType='fleetMove'")} (each fleet job with its moves as children)`);
}

/** `tasksd …` as a child process sharing this terminal (its progress bar draws here); fails the demo if it fails. */
async function tasksd(args: string[]): Promise<void> {
  say(`$ tasksd ${args.join(' ')}`);
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'bin/tasksd.js', ...args], { cwd: PROJECT_ROOT, env: process.env, stdio: 'inherit' });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  if (code !== 0) throw new Error(`tasksd ${args.join(' ')} exited with ${code}`);
}

/** `tasksd node serve` as a child process; resolves once it says it is serving. */
async function startAgent(nodeId: string, dir: string): Promise<void> {
  const port = await freePort();
  const args = ['--require', 'tsx/cjs', 'bin/tasksd.js', 'node', 'serve', nodeId, '--data', show(dir), '--listen', `127.0.0.1:${port}`];
  say(`  ${nodeId}: node ${args.join(' ')}`);
  // node itself, no launcher in between, so SIGTERM reaches the agent.
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const logFile = fs.openSync(`${dir}.log`, 'w');
  child.once('close', () => fs.closeSync(logFile));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const serving = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${nodeId}'s agent did not say it was serving within ${AGENT_START_TIMEOUT_MS / 1000} s`)), AGENT_START_TIMEOUT_MS);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node ${nodeId}'s agent exited (code ${code}) before serving; its output is above`));
    });
    const onLine = (line: string) => {
      const match = / serving .* at (\S+?);/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    prefixLines(child.stdout!, nodeId, logFile, onLine);
    prefixLines(child.stderr!, nodeId, logFile, onLine);
  });
  const agent: AgentProcess = { nodeId, url: '', dir, child, exited };
  agents.push(agent);
  agent.url = await serving;
  agents.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
}

async function stopAgent(agent: AgentProcess): Promise<void> {
  if (agent.child.exitCode !== null || agent.child.signalCode !== null) return;
  agent.child.kill('SIGTERM');
  const timer = setTimeout(() => agent.child.kill('SIGKILL'), AGENT_STOP_TIMEOUT_MS);
  const code = await agent.exited;
  clearTimeout(timer);
  if (code !== 0) say(`${agent.nodeId}'s agent exited with code ${code}`);
}

/**
 * A child's output: every line goes to its log file; here, prefixed with the node id,
 * go the agent's own lines and the Temporal SDK's warnings and errors. The SDK's INFO
 * records (worker state changes) and its warning that an activities-only worker polls
 * no workflow tasks — what an agent is — would only bury the demo's lines.
 */
function prefixLines(stream: NodeJS.ReadableStream, nodeId: string, logFile: number, onLine: (line: string) => void): void {
  let pending = '';
  let showingRecord = true;
  stream.on('data', (chunk: Buffer) => {
    fs.writeSync(logFile, chunk);
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const record = /^\S+Z \[(\w+)\] (.*)/.exec(line);
      if (record) showingRecord = (record[1] === 'WARN' || record[1] === 'ERROR') && !record[2].startsWith('No workflows registered');
      const continuation = !record && /^(\s|\})/.test(line);
      if (line.trim() === '' || ((record || continuation) && !showingRecord)) continue;
      process.stdout.write(`${nodeId} | ${line}\n`);
      onLine(line);
    }
  });
}

async function printShards(cc: ClusterClient): Promise<void> {
  const rows = (await cc.listShards()).map((s) =>
    'error' in s
      ? [`${s.org}/${s.ns}`, s.owner, s.claimedBy ?? '-', '?', '?', s.bytes === null ? '-' : formatBytes(s.bytes), `? (${s.error})`]
      : [`${s.org}/${s.ns}`, s.owner, s.claimedBy ?? '-', s.lockedBy ?? '-', s.seq, formatBytes(s.bytes), s.rows],
  );
  printTable(['shard', 'owner', 'claimed by', 'locked by', 'seq', 'size', 'rows'], rows);
}

function printTable(head: string[], rows: Array<Array<string | number>>): void {
  const table = new Table({ head, style: { head: [], border: [], compact: true } });
  table.push(...rows);
  console.log(table.toString().replace(/^/gm, '      '));
}

/**
 * Jobs of earlier demos that were interrupted mid-move: their cluster (data root, agents)
 * is gone, so nothing will ever run them; they would stay "running" in the Web UI.
 * Only jobs on the demo's own task queues are touched.
 */
async function endLeftovers(client: Client): Promise<string[]> {
  const ended: string[] = [];
  const types = `(WorkflowType = '${WORKFLOW_TYPE}' OR WorkflowType = '${FLEET_WORKFLOW_TYPE}')`;
  for await (const run of client.workflow.list({ query: `${types} AND ExecutionStatus = 'Running'` })) {
    if (!run.taskQueue.startsWith(`${TASK_QUEUE}@`)) continue;
    await client.workflow.getHandle(run.workflowId, run.runId).terminate('left running by an interrupted npm run demo');
    ended.push(run.workflowId);
  }
  return ended;
}

/** Empties the demo's data root; one that holds other things than a demo's is refused, not wiped. */
function wipe(dataRoot: string): void {
  const entries = fs.existsSync(dataRoot) ? fs.readdirSync(dataRoot) : [];
  if (entries.length > 0 && !entries.includes('catalog.db')) {
    throw new Error(`${dataRoot} is not empty and is not a demo's data root (no catalog.db): not wiping it; point TASKSD_DEMO_DATA elsewhere`);
  }
  fs.rmSync(dataRoot, { recursive: true, force: true });
}

/** A path as short as it can be said: relative to the project when inside it. */
function show(file: string): string {
  const relative = path.relative(PROJECT_ROOT, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

function say(line: string): void {
  console.log(`demo: ${line}`);
}

main().catch((err) => {
  console.error(`demo: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
