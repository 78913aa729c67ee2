// Figure 4 — fleet throughput. Many small shards moved at once by one worker process
// and by two, alternating round by round. Jobs are submitted straight to Temporal
// (one workflow start each, as the client does, without its per-start visibility
// check and claim wait) so the figure is the worker and server's throughput, not
// the submitting script's. CPU comes from /proc for the server and every worker.
import { randomUUID } from 'node:crypto';
import type { Job } from '../../common/job';
import { WORKFLOW_TYPE } from '../../common/names';
import type { BenchEnv } from '../lib/env';
import { NODES } from '../lib/env';
import { cpuSeconds } from '../lib/proc';
import { spread, type Spread } from '../lib/stats';
import type { BenchWorker } from '../lib/worker-process';

export interface FleetRound {
  workers: number;
  shards: number;
  seconds: number;
  movesPerSecond: number;
  /** CPU seconds during the round. */
  serverCpu: number;
  workerCpu: number;
  benchCpu: number;
  /** Server CPU over all CPU the round used (server + workers + this process). */
  serverShare: number;
  /** Per-move latency (Job startedAt → finishedAt), ms. */
  latencyMs: Spread;
}

export interface FleetRun {
  shards: number;
  rounds: FleetRound[];
  byWorkers: Record<string, { movesPerSecond: Spread; serverShare: Spread; serverCores: Spread }>;
}

const ROWS_PER_SHARD = 20;

export async function fleetFigure(env: BenchEnv, shards: number, roundsPerConfig: number): Promise<FleetRun> {
  const refs = Array.from({ length: shards }, (_, i) => ({ org: 'fleet', ns: `f${String(i).padStart(4, '0')}` }));
  for (const ref of refs) {
    await env.cluster.createShard(ref.org, ref.ns, NODES[0]);
    await env.replicator.putMany(ref.org, ref.ns, Array.from({ length: ROWS_PER_SHARD }, (_, r) => ({ id: `t${r}`, title: `task ${r} of ${ref.ns}` })));
  }
  const one = [await env.startWorker('bench-fleet-1')];
  const two = [await env.startWorker('bench-fleet-2'), await env.startWorker('bench-fleet-2')];
  const rounds: FleetRound[] = [];
  for (let round = 0; round < roundsPerConfig; round++) {
    for (const workers of [one, two]) {
      const result = await moveAll(env, refs, workers);
      rounds.push(result);
      console.log(
        `  ${shards} moves, ${workers.length} worker(s): ${result.seconds.toFixed(1)} s, ${result.movesPerSecond.toFixed(1)} moves/s, ` +
          `server ${(result.serverShare * 100).toFixed(0)}% of CPU`,
      );
    }
  }
  const byWorkers: FleetRun['byWorkers'] = {};
  for (const count of [1, 2]) {
    const mine = rounds.filter((r) => r.workers === count);
    byWorkers[String(count)] = {
      movesPerSecond: spread(mine.map((r) => r.movesPerSecond)),
      serverShare: spread(mine.map((r) => r.serverShare)),
      serverCores: spread(mine.map((r) => r.serverCpu / r.seconds)),
    };
  }
  return { shards, rounds, byWorkers };
}

async function moveAll(env: BenchEnv, refs: { org: string; ns: string }[], workers: BenchWorker[]): Promise<FleetRound> {
  const serverPid = env.server.process.pid!;
  const cpuBefore = { server: cpuSeconds(serverPid), workers: workers.map((w) => cpuSeconds(w.pid)), bench: process.cpuUsage() };
  const to = await Promise.all(refs.map(async (ref) => ((await env.cluster.catalog.shard(ref.org, ref.ns)).owner === NODES[0] ? NODES[1] : NODES[0])));
  const started = performance.now();
  const handles = await Promise.all(
    refs.map((ref, i) =>
      env.client.workflow.start(WORKFLOW_TYPE, {
        workflowId: `fleet-${ref.ns}-${randomUUID()}`,
        taskQueue: workers[0].taskQueue,
        args: [{ org: ref.org, ns: ref.ns, to: to[i], mode: 'offline' }],
        workflowIdConflictPolicy: 'FAIL',
      }),
    ),
  );
  const jobs = (await Promise.all(handles.map((h) => h.result()))) as Job[];
  const seconds = (performance.now() - started) / 1000;
  const failed = jobs.filter((job) => job.status !== 'released');
  if (failed.length > 0) throw new Error(`${failed.length} fleet moves did not release, e.g. ${failed[0].id}: ${failed[0].error}`);
  const benchUsage = process.cpuUsage(cpuBefore.bench);
  const serverCpu = cpuSeconds(serverPid) - cpuBefore.server;
  const workerCpu = workers.reduce((sum, w, i) => sum + cpuSeconds(w.pid) - cpuBefore.workers[i], 0);
  const benchCpu = (benchUsage.user + benchUsage.system) / 1e6;
  return {
    workers: workers.length,
    shards: refs.length,
    seconds,
    movesPerSecond: refs.length / seconds,
    serverCpu,
    workerCpu,
    benchCpu,
    serverShare: serverCpu / (serverCpu + workerCpu + benchCpu),
    latencyMs: spread(jobs.map((job) => Date.parse(job.finishedAt!) - Date.parse(job.startedAt))),
  };
}
