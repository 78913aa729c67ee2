// Figure 6 — moves between node agents (issue 12). Two `tasksd node serve` processes
// (test/support/agent-process.ts), each with its own data directory, registered in the
// bench's SQLite catalog (every process opens the same file under the data root) and
// coordinated by the bench's worker process on its task queue. Three figures:
//  - loopback: agents on 127.0.0.1, a whole offline move against `cp` + fsync of the
//    same file, interleaved rep by rep (target ≤ 1.5×);
//  - shaped: agents in network namespaces (test/support/netns.ts) whose links tc tbf
//    holds to 50 MiB/s, a move against size ÷ rate (target ≤ 1.15×); the agents reach
//    Temporal through a forwarder on the bridge, and the catalog by the shared file;
//  - memory: VmRSS/VmHWM of each agent process at rest after start, and after moves
//    (target ≤ 120 MiB at rest).
// Where the time goes: each move's activities from its history, and the copy's parts
// re-run alone on the same pinned snapshot from the bench process (the HTTP stream
// drained, the stream hashed, the product's pullSnapshot into a scratch file, and the
// product's verification of that copy).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { clusterToken } from '../../common/cluster-token';
import { removeDatabaseFiles } from '../../store/durable-fs';
import { HttpTransport } from '../../transport/http';
import { pullSnapshot } from '../../transport/pull-copy';
import type { ShardRef as WireRef } from '../../transport/wire';
import { startAgentProcess, type AgentProcess } from '../../test/support/agent-process';
import { createTestNetwork, netnsAvailable, type TestNetwork } from '../../test/support/netns';
import { cpFsync, removeCopy, seconds } from '../lib/baselines';
import { generateShard, MiB } from '../lib/data';
import type { BenchEnv } from '../lib/env';
import { move, type MoveSample } from '../lib/move';
import { statusBytes } from '../lib/proc';
import { runStep } from '../lib/product-steps';
import type { ShardPool, ShardRef } from '../lib/shards';
import { pairedRatios, spread, type Spread } from '../lib/stats';
import type { SizeSpec } from './copy';

const exec = promisify(execFile);

export const AGENT_TARGETS = { loopbackOverCp: 1.5, shapedOverIdeal: 1.15, restRssBytes: 120 * MiB };
/** The shaped link's rate, each direction (tc tbf counts wire bytes: TCP payload moves ≈4 % slower). */
export const SHAPED_RATE = 50 * MiB;

/** The copy's parts run alone on a pinned snapshot of the same shard (seconds). */
export const PROBES = {
  curl: 'the same bytes by curl to /dev/null (server side alone)',
  stream: 'HTTP stream drained (undici, no hash, no write)',
  streamHash: 'HTTP stream + sha256',
  pull: 'pullSnapshot: stream + sha256 + 1 MiB writes + fsync + digest',
  verify: 'verify the pulled copy (quick_check ∥ content scan)',
} as const;
export type ProbeName = keyof typeof PROBES;

export interface AgentMoves {
  n: number;
  /** Client wall time per move (MigrationClient.migrate() → released), and the Job's own span. */
  seconds: { move: number[]; jobSpan: number[] };
  /** Per activity (history, started → completed), plus 'temporal' (workflow time outside activities) and 'client'. */
  phases: Record<string, number[]>;
  probes: Partial<Record<ProbeName, number[]>>;
}

export interface AgentMemory {
  node: string;
  where: 'loopback' | 'netns';
  restRss: number;
  restHwm: number;
  afterRss: number;
  afterHwm: number;
  moves: number;
}

export interface AgentsRun {
  label: string;
  fileBytes: number;
  /** Agents on loopback: moves and `cp` + fsync of the same file, rep by rep. */
  loopback: AgentMoves & { cp: number[]; ratio: Spread };
  /** Agents in namespaces on links shaped to `rateBytesPerSec`; absent when namespaces are not available (`shapedSkipped` says why). */
  shaped?: AgentMoves & { rateBytesPerSec: number; idealSeconds: number; ratio: Spread };
  shapedSkipped?: string;
  memory: AgentMemory[];
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

/** The environment of an agent process: nothing from the developer's shell for tasksd or Temporal. */
export function agentEnv(env: BenchEnv, taskQueue: string, temporalAddress: string): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^(TASKSD_|TEMPORAL_)/.test(key)) clean[key] = value;
  return { ...clean, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_NAMESPACE: 'default', TASKSD_DATA: env.dataRoot, TASKSD_TASK_QUEUE: taskQueue };
}

class Agents {
  readonly started: AgentProcess[] = [];
  readonly memory: AgentMemory[] = [];

  constructor(private readonly env: BenchEnv) {}

  async start(opts: { id: string; listen: string; env: NodeJS.ProcessEnv; where: AgentMemory['where']; host?: Parameters<typeof startAgentProcess>[0]['host'] }): Promise<AgentProcess> {
    const dir = path.join(this.env.scratch, 'agents', opts.id);
    const started = performance.now();
    const agent = await startAgentProcess({ nodeId: opts.id, dir, listen: opts.listen, env: opts.env, host: opts.host });
    this.started.push(agent);
    const pid = agent.child.pid!;
    // At rest: serving, its worker polling, nothing asked of it yet; a few seconds for start-up garbage to go.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const rest = { restRss: statusBytes(pid, 'VmRSS'), restHwm: statusBytes(pid, 'VmHWM') };
    this.memory.push({ node: opts.id, where: opts.where, ...rest, afterRss: NaN, afterHwm: NaN, moves: 0 });
    console.log(
      `  ${opts.id} (${opts.where}, pid ${pid}) serving after ${((performance.now() - started) / 1000).toFixed(1)} s; at rest RSS ${mib(rest.restRss)}, peak ${mib(rest.restHwm)}`,
    );
    return agent;
  }

  /** Reads each agent's memory after its moves. */
  after(agents: AgentProcess[], moves: number): void {
    for (const agent of agents) {
      const m = this.memory.find((x) => x.node === agent.nodeId)!;
      Object.assign(m, { afterRss: statusBytes(agent.child.pid!, 'VmRSS'), afterHwm: statusBytes(agent.child.pid!, 'VmHWM'), moves });
      console.log(`  ${agent.nodeId} after ${moves} moves: RSS ${mib(m.afterRss)}, peak ${mib(m.afterHwm)}`);
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.started.map((agent) => agent.stop()));
    for (const agent of this.started) fs.writeFileSync(path.join(this.env.scratch, `agent-${agent.nodeId}.log`), agent.output());
  }
}

/** Records one move's wall time, Job span and history phases. */
function record(moves: AgentMoves, sample: MoveSample): void {
  const b = sample.breakdown;
  moves.seconds.move.push(sample.wallMs / 1000);
  moves.seconds.jobSpan.push((Date.parse(sample.job.finishedAt!) - Date.parse(sample.job.startedAt)) / 1000);
  for (const [activity, ms] of Object.entries(b.perActivity)) (moves.phases[activity] ??= []).push(ms / 1000);
  (moves.phases.temporal ??= []).push((b.total - b.activityRun) / 1000);
  (moves.phases.client ??= []).push((sample.wallMs - b.total) / 1000);
}

/**
 * The copy's parts, alone, against the agent that owns the shard now: an online pin
 * under a probe job id (unpinned at the end), read from this process as a destination
 * would read it.
 */
async function probeCopy(env: BenchEnv, ref: ShardRef, scratch: string, which: ProbeName[], out: AgentMoves['probes'], tag: string): Promise<void> {
  const owner = (await env.cluster.ownerFile(ref.org, ref.ns)).node;
  const transport = new HttpTransport({ url: owner.url!, token: clusterToken(env.dataRoot) });
  const wire: WireRef = { org: ref.org, ns: ref.ns, jobId: `bench-probe-${tag}` };
  const incoming = path.join(scratch, 'probe.incoming');
  try {
    const snapshot = await transport.pin(wire, 'online');
    const drain = async (hash: boolean) => {
      const h = hash ? createHash('sha256') : undefined;
      let bytes = 0;
      for await (const chunk of transport.readFrom(wire, snapshot.snapshotId, 0)) {
        h?.update(chunk);
        bytes += chunk.length;
      }
      if (bytes !== snapshot.size) throw new Error(`probe read ${bytes} of ${snapshot.size} bytes`);
    };
    const steps: Record<ProbeName, () => Promise<unknown>> = {
      curl: () =>
        exec('curl', ['-sSf', '-o', '/dev/null', '-H', `authorization: Bearer ${clusterToken(env.dataRoot)}`,
          `${owner.url}/v1/shards/${wire.org}/${wire.ns}/snapshots/${wire.jobId}/bytes?offset=0&snapshot=${encodeURIComponent(snapshot.snapshotId)}`]),
      stream: () => drain(false),
      streamHash: () => drain(true),
      pull: () => pullSnapshot({ transport, ref: wire, mode: 'online', incomingPath: incoming }),
      verify: () => runStep('verifyCopy', '', incoming),
    };
    for (const name of which) (out[name] ??= []).push(await seconds(async () => void (await steps[name]())));
  } finally {
    await transport.unpin(wire).catch(() => undefined);
    await transport.close();
    removeDatabaseFiles(incoming);
  }
}

function emptyMoves(): AgentMoves {
  return { n: 0, seconds: { move: [], jobSpan: [] }, phases: {}, probes: {} };
}

export async function agentsFigure(env: BenchEnv, pool: ShardPool, taskQueue: string, size: SizeSpec): Promise<AgentsRun> {
  const migrations = env.migrations(taskQueue);
  const scratch = path.join(env.scratch, 'baseline-agents');
  fs.mkdirSync(scratch, { recursive: true });
  const agents = new Agents(env);
  const run: AgentsRun = {
    label: size.label,
    fileBytes: 0,
    loopback: { ...emptyMoves(), cp: [], ratio: spread([]) },
    memory: agents.memory,
  };
  /** Seeded like the pool's shards (same bytes as the copy figure's shard of this size), made directly on the agent's node. */
  const makeShard = async (node: string, ns: string): Promise<ShardRef> => {
    const ref = { org: 'bench', ns };
    const made = await generateShard(env.cluster, env.replicator, { ...ref, node, targetBytes: size.bytes, seed: `tasksd-bench-${size.label}` });
    pool.generated.push(made);
    console.log(`  generated ${size.label} shard on ${node}: ${made.rows} rows, ${mib(made.bytes)} in ${made.seconds.toFixed(1)} s`);
    return ref;
  };
  const other = async (ref: ShardRef, pair: [string, string]) => ((await env.cluster.catalog.shard(ref.org, ref.ns)).owner === pair[0] ? pair[1] : pair[0]);

  let network: TestNetwork | undefined;
  try {
    // ---- loopback: two agent processes on 127.0.0.1
    const loopEnv = agentEnv(env, taskQueue, env.server.address);
    const pair: [string, string] = ['agent-a', 'agent-b'];
    const loop: AgentProcess[] = [];
    for (const id of pair) loop.push(await agents.start({ id, listen: '127.0.0.1:0', env: loopEnv, where: 'loopback' }));
    const ref = await makeShard(pair[0], `agents-lo-${size.label.toLowerCase().replace(/[^a-z0-9]+/g, '')}`);
    run.fileBytes = fs.statSync((await env.cluster.ownerFile(ref.org, ref.ns)).file).size;
    const copyTo = path.join(scratch, 'cp.db');
    const steps: Record<string, () => Promise<void>> = {
      cp: async () => {
        const file = (await env.cluster.ownerFile(ref.org, ref.ns)).file;
        run.loopback.cp.push(await seconds(() => cpFsync(file, copyTo)));
        removeCopy(copyTo);
      },
      move: async () => record(run.loopback, await move(migrations, ref, await other(ref, pair))),
      probes: () => probeCopy(env, ref, scratch, ['curl', 'stream', 'streamHash', 'pull', 'verify'], run.loopback.probes, `lo-${run.loopback.cp.length}`),
    };
    const order = Object.keys(steps);
    for (let rep = 0; rep < size.reps; rep++) {
      for (const name of [...order.slice(rep % order.length), ...order.slice(0, rep % order.length)]) await steps[name]();
      const l = run.loopback;
      l.n = rep + 1;
      console.log(
        `  loopback ${size.label} rep ${rep + 1}/${size.reps}: move ${l.seconds.move[rep].toFixed(2)} s, cp + fsync ${l.cp[rep].toFixed(2)} s ` +
          `(×${(l.seconds.move[rep] / l.cp[rep]).toFixed(2)}; target ≤ ${AGENT_TARGETS.loopbackOverCp}×)`,
      );
      console.log(`    phases: ${phaseLine(run.loopback, rep)}; probes: ${probeLine(run.loopback, rep)}`);
    }
    run.loopback.ratio = spread(pairedRatios(run.loopback.seconds.move, run.loopback.cp));
    agents.after(loop, size.reps);

    // ---- shaped: two agents in namespaces, links held to SHAPED_RATE
    const available = await netnsAvailable();
    if (!available.ok) {
      run.shapedSkipped = `no network namespaces here: ${available.reason}`;
      console.log(`  shaped link skipped: ${run.shapedSkipped}`);
      return run;
    }
    network = await createTestNetwork();
    const temporal = await network.forward(Number(env.server.address.split(':').pop()));
    const nsEnv = agentEnv(env, taskQueue, temporal.address);
    const nsPair: [string, string] = ['netns-a', 'netns-b'];
    const hosts = [await network.addHost('na'), await network.addHost('nb')];
    const inNs: AgentProcess[] = [];
    for (const [i, id] of nsPair.entries()) inNs.push(await agents.start({ id, listen: `${hosts[i].address}:7420`, env: nsEnv, where: 'netns', host: hosts[i] }));
    const nsRef = await makeShard(nsPair[0], `agents-ns-${size.label.toLowerCase().replace(/[^a-z0-9]+/g, '')}`);
    for (const host of hosts) await host.shape({ rateBytesPerSec: SHAPED_RATE });
    const ideal = run.fileBytes / SHAPED_RATE;
    const shaped = { ...emptyMoves(), rateBytesPerSec: SHAPED_RATE, idealSeconds: ideal, ratio: spread([]) };
    run.shaped = shaped;
    for (let rep = 0; rep < size.reps; rep++) {
      // What the shaped link carries for one HTTP stream, next to the move over it.
      await probeCopy(env, nsRef, scratch, ['stream'], shaped.probes, `ns-${rep}`);
      record(shaped, await move(migrations, nsRef, await other(nsRef, nsPair)));
      shaped.n = rep + 1;
      console.log(
        `  shaped ${mib(SHAPED_RATE)}/s ${size.label} rep ${rep + 1}/${size.reps}: move ${shaped.seconds.move[rep].toFixed(2)} s, size ÷ rate ${ideal.toFixed(2)} s ` +
          `(×${(shaped.seconds.move[rep] / ideal).toFixed(2)}; target ≤ ${AGENT_TARGETS.shapedOverIdeal}×); one stream alone ${shaped.probes.stream![rep].toFixed(2)} s`,
      );
      console.log(`    phases: ${phaseLine(shaped, rep)}`);
    }
    shaped.ratio = spread(shaped.seconds.move.map((m) => m / ideal));
    agents.after(inNs, size.reps);
    return run;
  } finally {
    await agents.stopAll();
    await network?.close();
  }
}

function phaseLine(moves: AgentMoves, rep: number): string {
  return Object.entries(moves.phases)
    .filter(([, v]) => v[rep] !== undefined)
    .map(([k, v]) => `${k} ${v[rep].toFixed(2)}`)
    .join(', ');
}

function probeLine(moves: AgentMoves, rep: number): string {
  return Object.entries(moves.probes)
    .map(([k, v]) => `${k} ${v![rep]?.toFixed(2)} s`)
    .join(', ');
}
