// Figure 7 — footprint (issue 15, memory rows). One coordinator worker process
// (`node --require tsx/cjs worker.ts`, bench/lib/worker-process.ts) and two node agent
// processes (`tasksd node serve`) on loopback, coordinated on the coordinator's task
// queue. Three readings, all from /proc/<pid>/status:
//  - at rest: each process's VmRSS (with RssAnon / RssFile) once serving, before any move;
//  - a large move between the agents (reps): VmHWM of each process during the move, its
//    peak reset (clear_refs) right before, and an RSS trace of each for a chart;
//  - many small moves back and forth: each process's RSS after every move, so growth =
//    RSS after the last move minus RSS after move `growthFrom` (the first moves warm
//    caches, JIT and pools that a long-running process keeps).
// Targets: coordinator peak ≤ 200 MiB and no growth over 50 moves; agent ≤ 120 MiB at
// rest and ≤ 160 MiB peak during a 2 GiB move.
// RSS counts the file-backed pages a process has mapped (RssFile: the node binary, the
// native libraries, SQLite mmap of a shard): RssAnon is what the process itself holds.
import * as fs from 'node:fs';
import type { AgentProcess } from '../../test/support/agent-process';
import { agentEnv, Agents } from '../lib/agents';
import { generateShard, MiB } from '../lib/data';
import type { BenchEnv } from '../lib/env';
import { move } from '../lib/move';
import { resetPeakRss, sampleRss, statusBytes } from '../lib/proc';
import type { ShardPool, ShardRef } from '../lib/shards';
import type { SizeSpec } from './copy';

export const FOOTPRINT_TARGETS = {
  coordinatorPeakBytes: 200 * MiB,
  coordinatorGrowthBytes: 0,
  agentRestBytes: 120 * MiB,
  agentPeakBytes: 160 * MiB,
};
/** "No growth" allows RSS's own noise between two readings of an idle process (pages touched and given back). */
export const GROWTH_NOISE_BYTES = 2 * MiB;

export interface FootprintConfig {
  /** The large move (full: 2 GiB × 2). */
  large: SizeSpec;
  /** The small shard moved back and forth, and how many times. */
  small: { label: string; bytes: number; moves: number };
}

/** One reading of a process's memory (bytes). */
export interface MemReading {
  rss: number;
  hwm: number;
  anon: number;
  file: number;
}

export interface FootprintProcess {
  /** 'coordinator', or the agent's node id. */
  role: string;
  kind: 'coordinator' | 'agent';
  pid: number;
  /** Once serving, before any move (agents: 3 s after their "serving" line). */
  rest: MemReading;
  /** Large moves: RSS right before each, VmHWM during each (reset before it), RSS right after. */
  largeBeforeRss: number[];
  largePeakBytes: number[];
  largeAfter: MemReading[];
  /** RSS over the first large move (s since its start, bytes). */
  largeTrace: { t: number; rss: number }[];
  /** Small moves: RSS and RssAnon after each (index 0 = after move 1). */
  smallRssAfter: number[];
  smallAnonAfter: number[];
  /** smallRssAfter[last] − smallRssAfter[growthFrom − 1]. */
  smallGrowthBytes: number;
  /** VmHWM over all small moves (reset before the first). */
  smallPeakBytes: number;
}

export interface FootprintRun {
  large: { label: string; fileBytes: number; reps: number; moveSeconds: number[] };
  small: { label: string; fileBytes: number; moves: number; moveSeconds: number[]; growthFrom: number };
  processes: FootprintProcess[];
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

function reading(pid: number): MemReading {
  return { rss: statusBytes(pid, 'VmRSS'), hwm: statusBytes(pid, 'VmHWM'), anon: statusBytes(pid, 'RssAnon'), file: statusBytes(pid, 'RssFile') };
}

const show = (m: MemReading) => `RSS ${mib(m.rss)} (anon ${mib(m.anon)}, file ${mib(m.file)})`;

export async function footprintFigure(env: BenchEnv, pool: ShardPool, config: FootprintConfig): Promise<FootprintRun> {
  const coordinator = await env.startWorker('bench-footprint');
  const migrations = env.migrations(coordinator.taskQueue);
  const agents = new Agents(env);
  const pair: [string, string] = ['footprint-a', 'footprint-b'];
  const procs: FootprintProcess[] = [];
  const track = (role: string, kind: FootprintProcess['kind'], pid: number): FootprintProcess => {
    const p: FootprintProcess = {
      role, kind, pid, rest: reading(pid),
      largeBeforeRss: [], largePeakBytes: [], largeAfter: [], largeTrace: [],
      smallRssAfter: [], smallAnonAfter: [], smallGrowthBytes: NaN, smallPeakBytes: NaN,
    };
    procs.push(p);
    return p;
  };
  try {
    const loopEnv = agentEnv(env, coordinator.taskQueue, env.server.address);
    const started: AgentProcess[] = [];
    for (const id of pair) started.push(await agents.start({ id, listen: '127.0.0.1:0', env: loopEnv, where: 'loopback' }));
    track('coordinator', 'coordinator', coordinator.pid);
    for (const agent of started) track(agent.nodeId, 'agent', agent.child.pid!);
    for (const p of procs) console.log(`  ${p.role} (pid ${p.pid}) at rest: ${show(p.rest)}`);

    const makeShard = async (label: string, bytes: number): Promise<ShardRef> => {
      const ref = { org: 'bench', ns: `footprint-${label.toLowerCase().replace(/[^a-z0-9]+/g, '')}` };
      const made = await generateShard(env.cluster, env.replicator, { ...ref, node: pair[0], targetBytes: bytes, seed: `tasksd-bench-${label}` });
      pool.generated.push(made);
      console.log(`  generated ${label} shard on ${pair[0]}: ${made.rows} rows, ${mib(made.bytes)} in ${made.seconds.toFixed(1)} s`);
      return ref;
    };
    const other = async (ref: ShardRef) => ((await env.cluster.catalog.shard(ref.org, ref.ns)).owner === pair[0] ? pair[1] : pair[0]);
    const fileBytes = async (ref: ShardRef) => fs.statSync((await env.cluster.ownerFile(ref.org, ref.ns)).file).size;

    // Both shards made by the bench process (straight into footprint-a's directory) before any reading.
    const largeRef = await makeShard(config.large.label, config.large.bytes);
    const smallRef = await makeShard(config.small.label, config.small.bytes);
    const growthFrom = Math.min(5, config.small.moves);
    const run: FootprintRun = {
      large: { label: config.large.label, fileBytes: await fileBytes(largeRef), reps: config.large.reps, moveSeconds: [] },
      small: { label: config.small.label, fileBytes: await fileBytes(smallRef), moves: config.small.moves, moveSeconds: [], growthFrom },
      processes: procs,
    };

    // ---- the large move, back and forth: peaks reset right before each
    for (let rep = 0; rep < config.large.reps; rep++) {
      const samplers = procs.map((p) => {
        p.largeBeforeRss.push(statusBytes(p.pid, 'VmRSS'));
        resetPeakRss(p.pid);
        return sampleRss(p.pid);
      });
      const sample = await move(migrations, largeRef, await other(largeRef));
      run.large.moveSeconds.push(sample.wallMs / 1000);
      for (const [i, p] of procs.entries()) {
        const trace = samplers[i].stop();
        if (rep === 0) p.largeTrace = trace;
        p.largePeakBytes.push(statusBytes(p.pid, 'VmHWM'));
        p.largeAfter.push(reading(p.pid));
      }
      console.log(
        `  ${config.large.label} move ${rep + 1}/${config.large.reps} in ${(sample.wallMs / 1000).toFixed(1)} s: ` +
          procs.map((p) => `${p.role} peak ${mib(p.largePeakBytes[rep])} (before ${mib(p.largeBeforeRss[rep])}, after ${show(p.largeAfter[rep])})`).join('; '),
      );
    }
    // ---- then many small moves back and forth: what stays behind per move
    for (const p of procs) resetPeakRss(p.pid);
    for (let i = 0; i < config.small.moves; i++) {
      const sample = await move(migrations, smallRef, await other(smallRef));
      run.small.moveSeconds.push(sample.wallMs / 1000);
      for (const p of procs) {
        p.smallRssAfter.push(statusBytes(p.pid, 'VmRSS'));
        p.smallAnonAfter.push(statusBytes(p.pid, 'RssAnon'));
      }
      if ((i + 1) % 10 === 0 || i + 1 === growthFrom || i + 1 === config.small.moves) {
        console.log(`  ${config.small.label} move ${i + 1}/${config.small.moves}: ${procs.map((p) => `${p.role} ${mib(p.smallRssAfter[i])}`).join(', ')}`);
      }
    }
    for (const p of procs) {
      p.smallPeakBytes = statusBytes(p.pid, 'VmHWM');
      p.smallGrowthBytes = p.smallRssAfter[p.smallRssAfter.length - 1] - p.smallRssAfter[growthFrom - 1];
      console.log(
        `  ${p.role}: RSS growth over ${config.small.label} moves ${growthFrom}→${config.small.moves} ${((p.smallGrowthBytes) / MiB).toFixed(1)} MiB ` +
          `(anon ${((p.smallAnonAfter[p.smallAnonAfter.length - 1] - p.smallAnonAfter[growthFrom - 1]) / MiB).toFixed(1)} MiB); peak ${mib(p.smallPeakBytes)}`,
      );
    }

    return run;
  } finally {
    await agents.stopAll();
    await coordinator.stop();
  }
}
