// Figure 3 — orchestration overhead. An empty shard moved end to end through
// Temporal (the public client, a worker process) against the same phase functions
// called back to back in this process, interleaved. What Temporal adds, and where,
// comes from the history: activity queue waits, workflow tasks, time between.
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { jobLookup } from '../../temporal/job-lookup';
import { createCoordinatorActivities, createNodeActivities, type JobRef } from '../../activities';
import { NodeStore } from '../../agent/node-store';
import { SnapshotPins } from '../../agent/snapshots';
import { clusterToken } from '../../common/cluster-token';
import { Peers } from '../../transport/peers';
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
  for (const ref of [viaTemporal, direct]) await env.cluster.createShard(ref.org, ref.ns, NODES[0]);
  const migrations = env.migrations(taskQueue);
  // The same activities the coordinator and the agents run, called here back to back;
  // the copy still streams from the source's agent (in the worker process).
  const coordinator = createCoordinatorActivities({ cluster: env.cluster, jobs: jobLookup(env.client) });
  const peers = new Peers(env.cluster.catalog, clusterToken(env.dataRoot));
  const nodes = new Map<string, ReturnType<typeof createNodeActivities>>(
    NODES.map((id) => {
      const store = new NodeStore(env.cluster, id);
      return [id, createNodeActivities({ store, pins: new SnapshotPins(store), peer: (to) => peers.to(to) })];
    }),
  );
  const node = (id: string) => nodes.get(id)!;
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
    let ref: JobRef | undefined;
    await timed('prepare', async () => {
      const prepared = await coordinator.prepare({ jobId, request: { ...direct, to } });
      ref = { jobId, org: direct.org, ns: direct.ns, from: prepared.from, to: prepared.to, mode: prepared.mode, cluster: prepared.cluster };
      const { bytes } = await node(ref.from).inspectSource(ref);
      await node(ref.to).checkDestination(ref, bytes);
      await coordinator.claim(ref);
    });
    const job = ref!;
    await timed('lock', () => node(job.from).lock(job));
    await timed('checkpointAndCopy', async () => node(job.to).checkpointAndCopy(job, await node(job.from).pinSnapshot(job)));
    await timed('replay', () => node(job.to).replay(job));
    await timed('unlock', async () => {
      const { epoch } = await coordinator.handOff(job);
      await node(job.to).unlock(job, epoch);
      await node(job.from).retire(job);
      await coordinator.release(job);
    });
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
