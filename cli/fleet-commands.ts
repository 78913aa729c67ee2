// `tasksd drain <node>`, `tasksd rebalance` and `tasksd fleet list | show | watch |
// pause | resume | concurrency | cancel`: fleet jobs through the FleetClient. A start
// prints the job once it has its plan; --wait follows it with one bar for the plan.
import type { Command } from 'commander';
import type { MigrationClient } from '../client';
import { ErrorType, TasksdError } from '../common/errors';
import { FleetClient } from '../fleet/client';
import type { FleetJob, FleetRequest } from '../fleet/types';
import { NoWorkerError, START_A_WORKER } from '../temporal/no-worker-error';
import { withMigrations } from './context';
import { CliError } from './errors';
import { printFleetJob, printFleetJobs, printLoad, summaryLine } from './fleet-format';
import { addPlanOptions, addRunOptions, type RunFlags } from './fleet-options';
import { followFleet } from './fleet-progress';
import { id, integer, type JsonFlag } from './options';
import { printJson, printLine } from './output';

export function registerFleetCommands(program: Command): void {
  addRunOptions(addPlanOptions(program.command('drain')))
    .description('move every shard off a node, as one fleet job (pausable, resumable, cancellable)')
    .argument('<node>', 'the node to empty', id('node'))
    .action((node: string, opts: RunFlags) => withMigrations((m) => start(m, { kind: 'drain', node, ...runRequest(opts) }, opts), { forCluster: true }));

  addRunOptions(addPlanOptions(program.command('rebalance'), { threshold: true }))
    .description('spread shards evenly over the nodes that take shards, as one fleet job')
    .action((opts: RunFlags) => withMigrations((m) => start(m, { kind: 'rebalance', threshold: opts.threshold, ...runRequest(opts) }, opts), { forCluster: true }));

  const fleet = program.command('fleet').description('fleet jobs (drain, rebalance)');
  fleet.command('list')
    .description("this cluster's fleet jobs, newest first")
    .action((opts: JsonFlag) =>
      withMigrations(async (m) => {
        const jobs = await new FleetClient(m).list();
        if (opts.json) printJson(jobs);
        else printFleetJobs(jobs);
      }, { forCluster: true }),
    );
  fleet.command('show')
    .description('one fleet job: progress, running moves, what was skipped or failed and why')
    .argument('<id>', 'fleet job id')
    .action((jobId: string, opts: JsonFlag) =>
      withMigrations(async (m) => {
        const job = await new FleetClient(m).get(jobId);
        if (!job) throw unknownFleetJob(jobId);
        if (opts.json) return printJson(job);
        printFleetJob(job);
        if (job.plan) printLoad(job.plan);
      }),
    );
  fleet.command('watch')
    .description('follow a fleet job with one progress bar for the plan (exit 1 if a move failed or it was cancelled)')
    .argument('<id>', 'fleet job id')
    .option('--stall-after <seconds>', 'name a move that made no progress for this long', integer('--stall-after', 1), 60)
    .action((jobId: string, opts: JsonFlag & { stallAfter: number }) => withMigrations((m) => follow(m, jobId, opts.json, opts.stallAfter)));
  const control = (name: string, description: string, act: (fleet: FleetClient, id: string) => Promise<FleetJob>, said: (job: FleetJob) => string) =>
    fleet.command(name)
      .description(description)
      .argument('<id>', 'fleet job id')
      .action((jobId: string, opts: JsonFlag) =>
        withMigrations(async (m) => {
          const job = await act(new FleetClient(m), jobId);
          if (opts.json) printJson(job);
          else printLine(said(job));
        }),
      );
  control('pause', 'let running moves finish and start no new one', (f, i) => f.pause(i), (j) => `fleet job ${j.id} paused: ${j.running.length} move(s) finishing, none starts until "tasksd fleet resume ${j.id}"`);
  control('resume', 'start moves again', (f, i) => f.resume(i), (j) => `fleet job ${j.id} resumed: up to ${j.concurrency} moves at once`);
  control('cancel', 'cancel the running moves (they roll back) and start no more', (f, i) => f.cancel(i), (j) => `cancel requested for fleet job ${j.id}: ${j.running.length} running move(s) roll back; follow it with "tasksd fleet watch ${j.id}"`);
  fleet.command('concurrency')
    .description('change how many moves run at once (the per-node limits still hold)')
    .argument('<id>', 'fleet job id')
    .argument('<n>', 'moves at once', integer('<n>', 1))
    .action((jobId: string, n: number, opts: JsonFlag) =>
      withMigrations(async (m) => {
        const job = await new FleetClient(m).setConcurrency(jobId, n);
        if (opts.json) printJson(job);
        else printLine(`fleet job ${job.id}: up to ${job.concurrency} moves at once from now on`);
      }),
    );
}

function runRequest(opts: RunFlags): Omit<FleetRequest, 'kind'> {
  return {
    strategy: opts.strategy,
    ...(opts.exclude ? { exclude: opts.exclude } : {}),
    concurrency: opts.concurrency,
    maxIncoming: opts.maxIncoming,
    maxOutgoing: opts.maxOutgoing,
    mode: opts.mode,
    ...(opts.maxRate ? { maxBytesPerSecond: opts.maxRate } : {}),
  };
}

async function start(m: MigrationClient, request: FleetRequest, opts: RunFlags): Promise<void> {
  const fleet = new FleetClient(m);
  // A fleet job needs a worker to plan it at all: without one nothing is started.
  const idle = await m.idleQueue();
  if (idle) throw new NoWorkerError(idle, `no fleet job was started; ${START_A_WORKER}`);
  const job = await fleet.start(request);
  if (!opts.wait) {
    if (opts.json) return printJson(job);
    printFleetJob(job);
    if (job.plan) printLoad(job.plan);
    return printLine(`follow it with "tasksd fleet watch ${job.id}"`);
  }
  if (!opts.json) printLine(`fleet job ${job.id}: ${job.plan?.moveCount ?? 0} move(s), ${job.concurrency} at once`);
  await follow(m, job.id, opts.json, opts.stallAfter);
}

async function follow(m: MigrationClient, jobId: string, json: boolean | undefined, stallAfter: number): Promise<void> {
  const final = await followFleet(new FleetClient(m), jobId, process.stdout, { quiet: json, stallMs: stallAfter * 1000 });
  if (json) printJson(final);
  else {
    printFleetJob(final);
    printLine(summaryLine(final));
  }
  if (final.status !== 'finished' || final.failed.length > 0) throw new CliError(summaryLine(final));
}

function unknownFleetJob(jobId: string): TasksdError {
  return new TasksdError(ErrorType.UnknownJob, `unknown fleet job ${jobId}: list them with "tasksd fleet list"`);
}
