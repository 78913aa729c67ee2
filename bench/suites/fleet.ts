// Figure 4 — fleet throughput (issue 15: "fleet of 500 empty shards, one coordinator,
// 2 agents: ≥ 4 moves/s"). Two `tasksd node serve` processes (agent A and agent B,
// test/support/agent-process.ts) registered in the bench's catalog, ONE coordinator
// worker process, N empty shards made on agent A's node; then all N moves to agent B
// are started at once, and the next round moves them back. Jobs are submitted straight
// to Temporal (one workflow start each on the cluster's queue, naming the cluster, as
// the client does, without its per-start visibility check and claim wait) so the figure is the coordinator's, the agents' and
// the server's throughput, not the submitting script's. CPU comes from /proc for the
// server, the coordinator and each agent, and from process.cpuUsage() for the bench.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import type { Job } from '../../common/job';
import { clusterTaskQueue, WORKFLOW_TYPE } from '../../common/names';
import { startAgentProcess, type AgentProcess } from '../../test/support/agent-process';
import type { BenchEnv } from '../lib/env';
import { breakdown, timeline, type Breakdown } from '../lib/history';
import { cpuSeconds } from '../lib/proc';
import { spread, type Spread } from '../lib/stats';
import { agentEnv } from '../lib/agents';

/** Issue 15's row: N empty shards, one coordinator, two agents. */
export const FLEET_TARGET = { movesPerSecond: 4 };

/** Histories read per round for where a move's time goes (each is a server round trip). */
const SAMPLED_HISTORIES = 10;

export interface FleetRound {
  shards: number;
  /** Agent ids, from → to. */
  from: string;
  to: string;
  seconds: number;
  movesPerSecond: number;
  /** CPU seconds during the round, by process. */
  cpu: { server: number; coordinator: number; agents: Record<string, number>; bench: number; /** Every process on the machine (/proc/stat), this run's and others'. */ machine: number };
  /** Server CPU over all CPU the round used (server + coordinator + agents + this process). */
  serverShare: number;
  /** Per-move latency (Job startedAt → finishedAt), ms. */
  latencyMs: Spread;
  /** Per move, from a sample of the round's histories. */
  perMove: { workflowTasks: number; activities: number; localActivities: number; historyEvents: number; breakdownMs: Omit<Breakdown, 'perActivity'>; activityRunMs: Record<string, number> };
}

export interface FleetRun {
  shards: number;
  /** The node agents, each its own process. */
  agents: string[];
  coordinators: 1;
  targetMovesPerSecond: number;
  rounds: FleetRound[];
  movesPerSecond: Spread;
  serverShare: Spread;
  /** Cores each process kept busy on average (CPU seconds ÷ round seconds). */
  cores: { server: Spread; coordinator: Spread; agents: Spread; bench: Spread; /** Every process on the machine, others' runs included. */ machine: Spread };
}

const AGENT_IDS = ['fleet-a', 'fleet-b'] as const;
const TASK_QUEUE = 'bench-fleet';

export async function fleetFigure(env: BenchEnv, shards: number, rounds: number): Promise<FleetRun> {
  const coordinator = await env.startWorker(TASK_QUEUE);
  const agents: AgentProcess[] = [];
  try {
    const agentVars = agentEnv(env, TASK_QUEUE, env.server.address);
    for (const id of AGENT_IDS) {
      agents.push(await startAgentProcess({ nodeId: id, dir: path.join(env.scratch, 'agents', id), listen: '127.0.0.1:0', env: agentVars }));
      console.log(`  agent ${id} serving (pid ${agents.at(-1)!.child.pid})`);
    }
    const refs = Array.from({ length: shards }, (_, i) => ({ org: 'fleet', ns: `f${String(i).padStart(4, '0')}` }));
    const made = performance.now();
    for (const ref of refs) await env.cluster.createShard(ref.org, ref.ns, AGENT_IDS[0]);
    console.log(`  ${shards} empty shards on ${AGENT_IDS[0]} in ${((performance.now() - made) / 1000).toFixed(1)} s`);
    const run: FleetRound[] = [];
    for (let round = 0; round < rounds; round++) {
      const [from, to] = round % 2 === 0 ? AGENT_IDS : [AGENT_IDS[1], AGENT_IDS[0]];
      const result = await moveAll(env, refs, from, to, coordinator.pid, agents);
      run.push(result);
      const c = result.cpu;
      console.log(
        `  ${shards} moves ${from} → ${to}: ${result.seconds.toFixed(1)} s, ${result.movesPerSecond.toFixed(2)} moves/s ` +
          `(target ≥ ${FLEET_TARGET.movesPerSecond}); latency p50 ${result.latencyMs.median.toFixed(0)} ms; CPU s: server ${c.server.toFixed(1)}, ` +
          `coordinator ${c.coordinator.toFixed(1)}, agents ${Object.entries(c.agents).map(([id, v]) => `${id} ${v.toFixed(1)}`).join(' ')}, bench ${c.bench.toFixed(1)}; ` +
          `whole machine ${c.machine.toFixed(1)} (${(c.machine / result.seconds).toFixed(2)} cores busy)`,
      );
      const p = result.perMove;
      console.log(
        `    per move: ${p.workflowTasks} workflow tasks, ${p.activities} activities, ${p.localActivities} local activities, ${p.historyEvents} events; ` +
          `ms: activity run ${p.breakdownMs.activityRun.toFixed(0)}, activity queue ${p.breakdownMs.activityQueue.toFixed(0)}, ` +
          `wf task run ${p.breakdownMs.workflowTaskRun.toFixed(0)}, wf task queue ${p.breakdownMs.workflowTaskQueue.toFixed(0)}, between ${p.breakdownMs.between.toFixed(0)}`,
      );
      console.log(`    activity run ms: ${Object.entries(p.activityRunMs).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    }
    const cores = (pick: (r: FleetRound) => number) => spread(run.map((r) => pick(r) / r.seconds));
    return {
      shards,
      agents: [...AGENT_IDS],
      coordinators: 1,
      targetMovesPerSecond: FLEET_TARGET.movesPerSecond,
      rounds: run,
      movesPerSecond: spread(run.map((r) => r.movesPerSecond)),
      serverShare: spread(run.map((r) => r.serverShare)),
      cores: {
        server: cores((r) => r.cpu.server),
        coordinator: cores((r) => r.cpu.coordinator),
        agents: cores((r) => Object.values(r.cpu.agents).reduce((a, b) => a + b, 0)),
        bench: cores((r) => r.cpu.bench),
        machine: cores((r) => r.cpu.machine),
      },
    };
  } finally {
    await Promise.all(agents.map((agent) => agent.stop()));
    for (const agent of agents) fs.writeFileSync(path.join(env.scratch, `agent-${agent.nodeId}.log`), agent.output());
    await coordinator.stop();
  }
}

async function moveAll(env: BenchEnv, refs: { org: string; ns: string }[], from: string, to: string, coordinatorPid: number, agents: AgentProcess[]): Promise<FleetRound> {
  const serverPid = env.server.process.pid!;
  const agentCpu = () => Object.fromEntries(agents.map((a) => [a.nodeId, cpuSeconds(a.child.pid!)]));
  const before = { server: cpuSeconds(serverPid), coordinator: cpuSeconds(coordinatorPid), agents: agentCpu(), bench: process.cpuUsage(), machine: machineBusySeconds() };
  const cluster = env.cluster.catalog.clusterId;
  const started = performance.now();
  const handles = await Promise.all(
    refs.map((ref) =>
      env.client.workflow.start(WORKFLOW_TYPE, {
        workflowId: `fleet-${ref.ns}-${randomUUID()}`,
        taskQueue: clusterTaskQueue(TASK_QUEUE, cluster),
        args: [{ org: ref.org, ns: ref.ns, to, mode: 'offline', cluster }],
        workflowIdConflictPolicy: 'FAIL',
      }),
    ),
  );
  const jobs = (await Promise.all(handles.map((h) => h.result()))) as Job[];
  const seconds = (performance.now() - started) / 1000;
  const benchUsage = process.cpuUsage(before.bench);
  const after = { server: cpuSeconds(serverPid), coordinator: cpuSeconds(coordinatorPid), agents: agentCpu(), machine: machineBusySeconds() };
  const failed = jobs.filter((job) => job.status !== 'released');
  if (failed.length > 0) throw new Error(`${failed.length} fleet moves did not release, e.g. ${failed[0].id}: ${failed[0].error}`);
  const cpu = {
    server: after.server - before.server,
    coordinator: after.coordinator - before.coordinator,
    agents: Object.fromEntries(Object.entries(after.agents).map(([id, v]) => [id, v - before.agents[id]])),
    bench: (benchUsage.user + benchUsage.system) / 1e6,
    machine: after.machine - before.machine,
  };
  const total = cpu.server + cpu.coordinator + Object.values(cpu.agents).reduce((a, b) => a + b, 0) + cpu.bench;
  return {
    shards: refs.length,
    from,
    to,
    seconds,
    movesPerSecond: refs.length / seconds,
    cpu,
    serverShare: cpu.server / total,
    latencyMs: spread(jobs.map((job) => Date.parse(job.finishedAt!) - Date.parse(job.startedAt))),
    perMove: await perMove(env, jobs.slice(0, SAMPLED_HISTORIES).map((job) => job.id)),
  };
}

/** Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait). */
function machineBusySeconds(): number {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Means over a sample of the round's histories: how many tasks a move costs the server, and where its time went. */
async function perMove(env: BenchEnv, ids: string[]): Promise<FleetRound['perMove']> {
  const EventType = temporal.api.enums.v1.EventType;
  const sum = { workflowTasks: 0, activities: 0, localActivities: 0, historyEvents: 0 };
  const activityRunMs: Record<string, number> = {};
  const parts = { total: 0, activityRun: 0, activityQueue: 0, workflowTaskRun: 0, workflowTaskQueue: 0, between: 0 };
  for (const id of ids) {
    const t = await timeline(env.client, id);
    const events = (await env.client.workflow.getHandle(id).fetchHistory()).events ?? [];
    sum.workflowTasks += t.workflowTasks.length;
    sum.activities += t.activities.length;
    sum.localActivities += events.filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED && e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length;
    sum.historyEvents += events.length;
    const b = breakdown(t);
    for (const key of Object.keys(parts) as (keyof typeof parts)[]) parts[key] += b[key];
    for (const [name, ms] of Object.entries(b.perActivity)) activityRunMs[name] = (activityRunMs[name] ?? 0) + ms;
  }
  const n = Math.max(1, ids.length);
  const mean = <T extends Record<string, number>>(o: T) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round((v / n) * 10) / 10])) as T;
  return { ...mean(sum), breakdownMs: mean(parts), activityRunMs: mean(activityRunMs) };
}
