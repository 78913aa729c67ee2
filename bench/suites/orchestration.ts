// Figure 3 — orchestration overhead. An empty shard moved end to end through
// Temporal (the public client, a worker process) against the same phase functions
// called back to back in this process, interleaved. What Temporal adds, and where,
// comes from the history: activity queue waits, workflow tasks, time between.
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { jobLookup } from '../../temporal/job-lookup';
import { createActivities } from '../../activities';
import type { BenchEnv } from '../lib/env';
import { NODES } from '../lib/env';
import { move } from '../lib/move';
import { runStep } from '../lib/product-steps';
import type { ShardPool, ShardRef } from '../lib/shards';
import { pairedRatios, spread, type Spread } from '../lib/stats';

export const STEPS = ['activityRun', 'activityQueue', 'workflowTaskRun', 'workflowTaskQueue', 'between', 'client'] as const;
const DIRECT_PHASES = ['prepare', 'lock', 'checkpointAndCopy', 'replay', 'unlock'] as const;

export interface OrchestrationRun {
  reps: number;
  /** Milliseconds per rep. */
  directMs: number[];
  temporalMs: number[];
  directPhasesMs: Record<(typeof DIRECT_PHASES)[number], number[]>;
  /** Where the Temporal move's time went, ms per rep (client = wall time outside the workflow's own span). */
  stepsMs: Record<(typeof STEPS)[number], number[]>;
  /** One verification thread's start-up: quick_check of the empty shard (each move starts three such threads). */
  checkThreadMs: number[];
  workflowTasksPerMove: number;
  activitiesPerMove: number;
  overheadMs: Spread;
  ratio: Spread;
}

export async function orchestrationFigure(env: BenchEnv, pool: ShardPool, taskQueue: string, reps: number): Promise<OrchestrationRun> {
  const viaTemporal: ShardRef = { org: 'bench', ns: 'empty-temporal' };
  const direct: ShardRef = { org: 'bench', ns: 'empty-direct' };
  for (const ref of [viaTemporal, direct]) env.cluster.createShard(ref.org, ref.ns, NODES[0]);
  const migrations = env.migrations(taskQueue);
  const activities = createActivities({ cluster: env.cluster, replicator: env.replicator, jobs: jobLookup(env.client) });
  const run: OrchestrationRun = {
    reps,
    directMs: [],
    temporalMs: [],
    directPhasesMs: { prepare: [], lock: [], checkpointAndCopy: [], replay: [], unlock: [] },
    stepsMs: { activityRun: [], activityQueue: [], workflowTaskRun: [], workflowTaskQueue: [], between: [], client: [] },
    checkThreadMs: [],
    workflowTasksPerMove: 0,
    activitiesPerMove: 0,
    overheadMs: spread([]),
    ratio: spread([]),
  };

  const moveDirectly = async () => {
    const jobId = `direct-${randomUUID()}`;
    const to = (await pool.destination(direct));
    // One mock context per move: the activities read heartbeat details from it.
    const ctx = new MockActivityEnvironment({ workflowExecution: { workflowId: jobId, runId: randomUUID() } });
    const started = performance.now();
    const timed = async <T>(phase: (typeof DIRECT_PHASES)[number], fn: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const result = (await ctx.run(fn)) as T;
      run.directPhasesMs[phase].push(performance.now() - t);
      return result;
    };
    const prepared = await timed('prepare', () => activities.prepare({ jobId, request: { ...direct, to } }));
    const ref = { jobId, org: direct.org, ns: direct.ns, from: prepared.from, to: prepared.to, mode: prepared.mode, cluster: prepared.cluster };
    await timed('lock', () => activities.lock(ref));
    await timed('checkpointAndCopy', () => activities.checkpointAndCopy(ref));
    await timed('replay', () => activities.replay(ref));
    await timed('unlock', () => activities.unlock(ref));
    run.directMs.push(performance.now() - started);
    const file = (await env.cluster.ownerFile(direct.org, direct.ns)).file;
    const t = performance.now();
    await runStep('quickCheck', file, file);
    run.checkThreadMs.push(performance.now() - t);
  };

  const moveThroughTemporal = async () => {
    const sample = await move(migrations, viaTemporal, (await pool.destination(viaTemporal)));
    const b = sample.breakdown;
    run.temporalMs.push(sample.wallMs);
    for (const step of STEPS) run.stepsMs[step].push(step === 'client' ? sample.wallMs - b.total : b[step]);
    run.workflowTasksPerMove = sample.timeline.workflowTasks.length;
    run.activitiesPerMove = sample.timeline.activities.length;
  };

  await moveDirectly(); // warm both paths once (module loads, first bundle run), unrecorded
  await moveThroughTemporal();
  for (const key of Object.keys(run.directPhasesMs) as (typeof DIRECT_PHASES)[number][]) run.directPhasesMs[key] = [];
  for (const key of STEPS) run.stepsMs[key] = [];
  run.directMs = [];
  run.temporalMs = [];
  run.checkThreadMs = [];

  for (let rep = 0; rep < reps; rep++) {
    if (rep % 2 === 0) {
      await moveDirectly();
      await moveThroughTemporal();
    } else {
      await moveThroughTemporal();
      await moveDirectly();
    }
  }
  run.overheadMs = spread(run.temporalMs.map((t, i) => t - run.directMs[i]));
  run.ratio = spread(pairedRatios(run.temporalMs, run.directMs));
  console.log(`  empty move: direct ${run.directMs.map((m) => m.toFixed(0)).join(', ')} ms; Temporal ${run.temporalMs.map((m) => m.toFixed(0)).join(', ')} ms`);
  return run;
}
