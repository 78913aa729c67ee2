// The activities of migrateShard and of the reconciler, made from injected
// dependencies: the worker wires the real cluster and Temporal client, tests wire
// ones under a temp directory. No module-level state.
import type { Cluster } from '../store/cluster';
import type { Replicator } from '../store/replicator';
import { inCluster } from './cluster-guard';
import { withFailures } from './failures';
import { createPhases } from './phases';
import { prepareMigration, type PrepareOptions } from './prepare';
import { reconcileClaims, type JobLookup } from './reconcile';
import { rollbackMigration } from './rollback';
import { holdable, type ActivityTestHooks } from './test-hooks';
import type { JobRef, PrepareInput, ReconcileInput } from './types';

export interface ActivityDeps {
  cluster: Cluster;
  replicator: Replicator;
  /** Asks Temporal how a job stands; the reconciler needs it. */
  jobs: JobLookup;
  testHooks?: ActivityTestHooks;
}

export function createActivities({ cluster, replicator, jobs, testHooks }: ActivityDeps) {
  const phases = createPhases(cluster, replicator, testHooks);
  const hold = testHooks?.hold;
  // Every phase refuses a job of another cluster before it touches anything.
  const phase = <R>(name: string, fn: (job: JobRef) => Promise<R>) => withFailures(inCluster(cluster, holdable(name, hold, fn)));
  return {
    prepare: withFailures(async (input: PrepareInput) => prepareMigration(cluster, input, prepareOptions(testHooks))),
    lock: phase('lock', phases.lock),
    checkpointAndCopy: phase('checkpointAndCopy', phases.checkpointAndCopy),
    catchUp: phase('catchUp', phases.catchUp),
    replay: phase('replay', phases.replay),
    unlock: phase('unlock', phases.unlock),
    rollback: phase('rollback', async (job: JobRef) => rollbackMigration(cluster, replicator, job)),
    reconcile: withFailures(async (input: ReconcileInput) => reconcileClaims(cluster, replicator, jobs, input)),
  };
}

export type MigrationActivities = ReturnType<typeof createActivities>;
export type { JobLookup } from './reconcile';
export type * from './types';

function prepareOptions(hooks: ActivityTestHooks = {}): PrepareOptions {
  const free = hooks.freeBytes;
  return free === undefined ? {} : { freeBytes: () => free };
}
