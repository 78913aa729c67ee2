// The activities of migrateShard, made from injected dependencies: the worker wires
// the real cluster, tests wire one under a temp directory. No module-level state.
import type { Cluster } from '../store/cluster';
import type { Replicator } from '../store/replicator';
import { withFailures } from './failures';
import { createPhases } from './phases';
import { prepareMigration, type PrepareOptions } from './prepare';
import { rollbackMigration } from './rollback';
import { holdable, type ActivityTestHooks } from './test-hooks';
import type { JobRef, PrepareInput } from './types';

export interface ActivityDeps {
  cluster: Cluster;
  replicator: Replicator;
  testHooks?: ActivityTestHooks;
}

export function createActivities({ cluster, replicator, testHooks }: ActivityDeps) {
  const phases = createPhases(cluster, replicator, testHooks);
  const hold = testHooks?.hold;
  return {
    prepare: withFailures(async (input: PrepareInput) => prepareMigration(cluster, input, prepareOptions(testHooks))),
    lock: withFailures(holdable('lock', hold, phases.lock)),
    checkpointAndCopy: withFailures(holdable('checkpointAndCopy', hold, phases.checkpointAndCopy)),
    catchUp: withFailures(phases.catchUp),
    replay: withFailures(holdable('replay', hold, phases.replay)),
    unlock: withFailures(holdable('unlock', hold, phases.unlock)),
    rollback: withFailures(async (job: JobRef) => rollbackMigration(cluster, replicator, job)),
  };
}

export type MigrationActivities = ReturnType<typeof createActivities>;
export type * from './types';

function prepareOptions(hooks: ActivityTestHooks = {}): PrepareOptions {
  const free = hooks.freeBytes;
  return free === undefined ? {} : { freeBytes: () => free };
}
