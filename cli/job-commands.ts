// Commands over migration jobs. Everything they show comes from Temporal, through
// the MigrationClient; the Temporal connection is closed before the process exits.
import { Option, type Command } from 'commander';
import { ErrorType, TasksdError } from '../common/errors';
import { isTerminal, JOB_STATUSES, MIGRATION_MODES, type Job, type JobStatus, type MigrationMode, type MigrationRequest } from '../common/job';
import { parseMigrationRequest } from '../common/validation';
import type { MigrationClient } from '../client';
import { jobWaits, NoWorkerError, START_A_WORKER } from '../temporal/no-worker-error';
import { withMigrations } from './context';
import { CliError, describe } from './errors';
import { endedLine, printJob, printJobs } from './job-format';
import { addShard, byteRate, id, integer, type JsonFlag, type ShardFlags } from './options';
import { printJson, printLine } from './output';
import { followJob } from './progress';

interface MigrateFlags extends ShardFlags {
  to: string;
  mode: MigrationMode;
  maxPause?: number;
  maxRate?: number;
  wait?: boolean;
}

interface JobsFlags extends JsonFlag {
  status?: JobStatus;
  org?: string;
  namespace?: string;
  node?: string;
}

export function registerJobCommands(program: Command): void {
  addShard(program.command('migrate'))
    .description('move a shard to another node; prints the job as started, or with --wait its end')
    .requiredOption('--to <node>', 'destination node', id('node'))
    .addOption(
      new Option('--mode <mode>', 'offline locks for the whole copy; online copies first and locks only to catch up')
        .choices(MIGRATION_MODES)
        .default('offline'),
    )
    .option('--max-pause <ms>', 'online mode: the write pause to stay under, in ms (default 1000)', integer('--max-pause', 1))
    .option('--max-rate <rate>', "cap the copy at this many bytes per second, e.g. 50MiB or 200MB (so a move cannot starve the node's writers)", byteRate('--max-rate'))
    .option('--wait', 'follow the job to its end (exit 1 if it fails)')
    .action((opts: MigrateFlags) => withMigrations((m) => migrate(m, opts), { forCluster: true }));

  program.command('jobs')
    .description('list migration jobs, newest first')
    .addOption(new Option('--status <status>', 'only jobs in this status').choices(JOB_STATUSES))
    .option('--org <org>', 'only jobs of this organization', id('org'))
    .option('--ns, --namespace <namespace>', 'only jobs of this namespace', id('namespace'))
    .option('--node <node>', 'only jobs moving from or to this node', id('node'))
    .action((opts: JobsFlags) =>
      withMigrations(async (m) => {
        const jobs = await m.list({ status: opts.status, org: opts.org, ns: opts.namespace, node: opts.node });
        if (opts.json) printJson(jobs);
        else printJobs(jobs);
      }),
    );

  program.command('job')
    .description('show one job')
    .argument('<id>', 'job id')
    .action((jobId: string, opts: JsonFlag) =>
      withMigrations(async (m) => {
        const job = await m.get(jobId);
        if (!job) throw unknownJob(jobId);
        if (opts.json) printJson(job);
        else printJob(job);
        if (isTerminal(job.status)) return;
        const idle = await m.idleQueue(jobId);
        if (idle) throw new NoWorkerError(idle, jobWaits(job));
      }),
    );

  program.command('watch')
    .description('follow a job to its end (exit 1 if it fails)')
    .argument('<id>', 'job id')
    .action(async (jobId: string, opts: JsonFlag) => {
      await withMigrations((m) => follow(m, jobId, opts.json));
    });

  program.command('cancel')
    .description('cancel a job: it rolls back unless the shard already changed owner')
    .argument('<id>', 'job id')
    .action((jobId: string, opts: JsonFlag) => withMigrations((m) => cancel(m, jobId, opts.json)));
}

async function cancel(m: MigrationClient, jobId: string, json?: boolean): Promise<void> {
  const job = await m.cancel(jobId);
  // Nothing to cancel: how the job ended is what the operator needs (a released shard was not rolled back).
  if (isTerminal(job.status)) {
    if (json) printJson({ id: jobId, cancelRequested: false, job });
    throw new CliError(`nothing to cancel: ${endedLine(job)}`);
  }
  if (json) printJson({ id: jobId, cancelRequested: true });
  else printLine(`cancel requested for job ${jobId}; follow it with "tasksd watch ${jobId}"`);
  const idle = await m.idleQueue(jobId);
  if (idle) throw new NoWorkerError(idle, `the cancel of job ${jobId} is recorded and rolls it back once one runs; ${START_A_WORKER}`);
}

async function migrate(m: MigrationClient, opts: MigrateFlags): Promise<void> {
  const request: MigrationRequest = { org: opts.org, ns: opts.namespace, to: opts.to, mode: opts.mode };
  if (opts.maxPause !== undefined) request.maxPauseMs = opts.maxPause;
  if (opts.maxRate !== undefined) request.maxBytesPerSecond = opts.maxRate;
  parseMigrationRequest(request); // bad input is refused (exit 2) before anything asks the server
  // Nobody would run the job: --wait would wait for ever, so it starts nothing; without
  // --wait the job is queued (it runs once a worker polls) and the operator is told.
  const idle = await m.idleQueue();
  if (idle && opts.wait) throw new NoWorkerError(idle, `nothing was started; ${START_A_WORKER}, or leave out --wait to queue the job`);
  const started = await m.startJob(request, idle ? { claimTimeoutMs: 0 } : {});
  if (idle) warn(new NoWorkerError(idle, `job ${started.id} is queued and starts when one does; ${START_A_WORKER}`));
  if (!opts.wait) {
    if (opts.json) return printJson(started);
    printJob(started);
    return printLine(`follow it with "tasksd watch ${started.id}"`);
  }
  // The source is known once a worker has claimed the shard; a busy worker may not have yet.
  const from = started.from ? ` from ${started.from}` : '';
  if (!opts.json) printLine(`job ${started.id}: moving ${started.org}/${started.ns}${from} to ${started.to} (${started.mode})`);
  await follow(m, started.id, opts.json);
}

async function follow(m: MigrationClient, jobId: string, json?: boolean): Promise<Job> {
  const final = await followJob(m, jobId, process.stdout, json);
  if (json) printJson(final);
  if (final.status === 'failed') throw new CliError(`job ${final.id} failed: ${final.error ?? 'no reason recorded'}`);
  return final;
}

function warn(err: Error): void {
  process.stderr.write(`tasksd: warning: ${describe(err)}\n`);
}

function unknownJob(jobId: string): TasksdError {
  return new TasksdError(ErrorType.UnknownJob, `unknown job ${jobId}: list jobs with "tasksd jobs"`);
}
