// `tasksd repair`: reconcile now what jobs that ended without their own rollback left
// behind (claims, locks, copies on destinations), instead of waiting for the
// reconciler's next pass; prints what it did, or that nothing needed doing.
import type { Command } from 'commander';
import { reconcileGraceMs } from '../common/config';
import { describeRepair, runRepair } from '../temporal/repair';
import { clusterTaskQueue } from '../common/names';
import { NoWorkerError, START_A_WORKER } from '../temporal/no-worker-error';
import { workerPolls } from '../temporal/pollers';
import { withMigrations } from './context';
import { id, type JsonFlag } from './options';
import { printJson, printLine } from './output';

interface RepairFlags extends JsonFlag {
  org?: string;
  namespace?: string;
}

export function registerRepairCommand(program: Command): void {
  program
    .command('repair')
    .description('roll back or finish, now, the moves of jobs that ended without doing so (terminated, timed out); prints what it did')
    .option('--org <org>', 'only shards of this organization', id('org'))
    .option('--ns, --namespace <namespace>', 'only shards of this namespace', id('namespace'))
    .action(async (opts: RepairFlags) => {
      const graceMs = reconcileGraceMs();
      const report = await withMigrations(async (m) => {
        const cluster = m.cluster!;
        const queue = clusterTaskQueue(m.taskQueue, cluster);
        if (!(await workerPolls(m.client, queue))) {
          throw new NoWorkerError({ taskQueue: queue, namespace: m.client.options.namespace }, `no repair was started; ${START_A_WORKER} for cluster ${cluster}`);
        }
        return runRepair(m.client, m.taskQueue, { cluster, org: opts.org, ns: opts.namespace, graceMs });
      }, { forCluster: true });
      if (opts.json) printJson(report);
      else for (const line of describeRepair(report)) printLine(line);
    });
}
