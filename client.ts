// The programmatic API for migrations (mirrors the reference Coordinator: migrate,
// start, get, list), plus cancel and watch. Everything it knows comes from Temporal.
//
//   const migrations = await MigrationClient.connect();
//   const job = await migrations.migrate({ org: 'acme', ns: 'default', to: 'node-b' });
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { taskQueue as configuredTaskQueue } from './common/config';
import { ErrorType, TasksdError, type ErrorTypeName } from './common/errors';
import { isTerminal, JOB_STATUSES, type Job, type MigrationRequest } from './common/job';
import { clusterTaskQueue, WORKFLOW_TYPE } from './common/names';
import { MigrationNs, MigrationOrg, MigrationStatus, MigrationTo } from './common/search-attributes';
import { parseId, parseJobId, parseMigrationRequest } from './common/validation';
import { connectClient, temporalTarget } from './temporal/connection';
import { jobFromExecution, listQuery, startedMode, type JobFilter } from './temporal/job-records';
import { jobWaits, NoWorkerError, type IdleQueue } from './temporal/no-worker-error';
import { livePollers, workerPolls } from './temporal/pollers';
import type { CopyHeartbeat } from './activities/types';
import { claimedUpdate, statusQuery } from './workflows/definitions';

export type { Job, JobStatus, MigrationMode, MigrationRequest } from './common/job';
export type { JobFilter } from './temporal/job-records';
export { TasksdError, ErrorType } from './common/errors';
export { NoWorkerError, type IdleQueue } from './temporal/no-worker-error';

/** A Job plus the copy's live progress (from the copy activity's heartbeat). */
export interface JobSnapshot extends Job {
  progress?: CopyHeartbeat;
}

export interface StartOptions {
  /** Use this job id instead of a generated one. */
  jobId?: string;
  /**
   * How long to wait for a worker to claim the shard before returning the job as pending;
   * 0 returns it at once (no worker polls, say).
   */
  claimTimeoutMs?: number;
}

export class MigrationClient {
  constructor(
    readonly client: Client,
    readonly taskQueue: string = configuredTaskQueue(),
    private readonly onClose: () => Promise<void> = async () => {},
    /**
     * The cluster (catalog id) this client starts jobs for: they run on its own task
     * queue, by its workers only. Without it the first worker to take a job decides.
     */
    readonly cluster?: string,
  ) {}

  /** Connects with the SDK's environment configuration (TEMPORAL_ADDRESS, profiles, TLS, API key). */
  static async connect(options: { cluster?: string } = {}): Promise<MigrationClient> {
    const { client, connection } = await connectClient(temporalTarget());
    return new MigrationClient(client, configuredTaskQueue(), () => connection.close(), options.cluster);
  }

  /** The task queue new jobs' workflows start on. */
  get startQueue(): string {
    return this.cluster ? clusterTaskQueue(this.taskQueue, this.cluster) : this.taskQueue;
  }

  async close(): Promise<void> {
    await this.onClose();
  }

  /** Starts a migration and returns its id once the job holds the shard. */
  async start(request: MigrationRequest, options: StartOptions = {}): Promise<string> {
    return (await this.startJob(request, options)).id;
  }

  /**
   * Starts a migration and returns the Job as started. A second migration of a shard
   * is refused at once, naming the running job; bad input is refused before anything
   * reaches Temporal.
   */
  async startJob(request: MigrationRequest, options: StartOptions = {}): Promise<Job> {
    const valid = parseMigrationRequest(request);
    // Another cluster's move of a shard with the same name is no conflict: look on this cluster's queue.
    const running = await this.list({ org: valid.org, ns: valid.ns, running: true, ...(this.cluster ? { taskQueue: this.startQueue } : {}) });
    if (running.length > 0) {
      throw new TasksdError(
        ErrorType.ShardBusy,
        `shard ${valid.org}/${valid.ns} is already being migrated by job ${running[0].id}; wait for it or cancel it with "tasksd cancel ${running[0].id}"`,
      );
    }
    const jobId = options.jobId === undefined ? newJobId(valid.org, valid.ns) : parseJobId(options.jobId);
    const mode = valid.mode ?? 'offline';
    let handle;
    try {
      handle = await this.client.workflow.start(WORKFLOW_TYPE, {
        workflowId: jobId,
        taskQueue: this.startQueue,
        args: [this.cluster ? { ...valid, cluster: this.cluster } : valid],
        workflowIdConflictPolicy: 'FAIL',
        memo: { mode },
        typedSearchAttributes: [
          { key: MigrationStatus, value: 'pending' },
          { key: MigrationOrg, value: valid.org },
          { key: MigrationNs, value: valid.ns },
          { key: MigrationTo, value: valid.to },
        ],
        staticSummary: `Move ${valid.org}/${valid.ns} to ${valid.to} (${mode})`,
        staticDetails: `Shard **${valid.org}/${valid.ns}** → node **${valid.to}**, ${mode} mode. Query \`status\` for the Job.`,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new TasksdError(ErrorType.ShardBusy, `job id ${jobId} is already in use; pick another id`);
      }
      throw err;
    }
    return this.awaitClaim(jobId, handle, options.claimTimeoutMs ?? 15_000);
  }

  private async awaitClaim(jobId: string, handle: WorkflowHandle, timeoutMs: number): Promise<Job> {
    try {
      const claimed = timeoutMs > 0 ? await this.within(timeoutMs, () => handle.executeUpdate(claimedUpdate)) : undefined;
      if (claimed) return claimed;
      // No worker took the job yet: it is started and will run once one does.
      return (await this.get(jobId)) ?? Promise.reject(new Error(`job ${jobId} vanished after start`));
    } catch (err) {
      const failure = innermost(err);
      if (failure instanceof ApplicationFailure) throw new TasksdError((failure.type as ErrorTypeName) ?? ErrorType.InvalidInput, failure.message);
      // The workflow may already have finished (a refusal closes it at once).
      const job = await this.get(jobId);
      if (job?.status === 'failed') throw new TasksdError((job.errorType as ErrorTypeName) ?? ErrorType.ShardBusy, job.error ?? 'migration refused');
      if (job) return job;
      throw err;
    }
  }

  /** Starts a migration and waits for its final Job. */
  async migrate(request: MigrationRequest, options: StartOptions = {}): Promise<Job> {
    const id = await this.start(request, options);
    return this.result(id);
  }

  /** The final Job of a migration, waiting for it to end. */
  async result(id: string): Promise<Job> {
    return (await this.client.workflow.getHandle(parseJobId(id)).result()) as Job;
  }

  /** The Job, or null when no such job exists; a malformed id is refused (InvalidInput). */
  async get(id: string): Promise<Job | null> {
    const handle = this.client.workflow.getHandle(parseJobId(id));
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
    if (description.type !== WORKFLOW_TYPE) return null;
    if (description.status.name === 'COMPLETED') return (await handle.result()) as Job;
    if (description.status.name === 'RUNNING') {
      const answered = await this.askStatus(handle, description.taskQueue);
      return answered ?? this.fromVisibility(description); // no worker to answer: visibility still knows the phase
    }
    return this.fromVisibility(description);
  }

  /**
   * The running job's own answer, or undefined when no worker gives one: none polls
   * its queue, or one that died moments ago leaves the server waiting for many
   * seconds (past QUERY_PATIENCE_MS visibility's view of the phase is good enough).
   */
  private async askStatus(handle: WorkflowHandle, taskQueue: string): Promise<Job | undefined> {
    if ((await livePollers(this.client, taskQueue)).length === 0) return undefined;
    return this.within(QUERY_PATIENCE_MS, () => handle.query(statusQuery)).catch(() => undefined);
  }

  /**
   * `call`'s result, or undefined once `ms` pass. The call is then cancelled: a request
   * left pending would be retried after the connection closes, and crash the process.
   */
  private async within<T>(ms: number, call: () => Promise<T>): Promise<T | undefined> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), ms);
    try {
      return await this.client.withAbortSignal(abort.signal, call);
    } catch (err) {
      if (abort.signal.aborted) return undefined;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Where a job waits when no worker polls its task queue (without an id: the queue new
   * jobs start on); undefined while one does. A worker that is just starting gets a
   * moment to poll.
   */
  async idleQueue(id?: string): Promise<IdleQueue | undefined> {
    const taskQueue = id === undefined ? this.startQueue : (await this.client.workflow.getHandle(parseJobId(id)).describe()).taskQueue;
    if (await workerPolls(this.client, taskQueue)) return undefined;
    return { taskQueue, namespace: this.client.options.namespace, address: serverAddress(this.client) };
  }

  /** A Job from a visibility record, with the mode from the input when no memo carries it. */
  private async fromVisibility(info: Parameters<typeof jobFromExecution>[0]): Promise<Job> {
    const job = jobFromExecution(info);
    if (info.memo?.mode === undefined) job.mode = await startedMode(this.client, job.id); // started from the Temporal CLI
    return job;
  }

  /** Like get, with the copy's live progress; throws UnknownJob for an unknown id. */
  async snapshot(id: string): Promise<JobSnapshot> {
    const job = await this.get(id);
    if (!job) throw unknownJob(id);
    if (isTerminal(job.status)) return job;
    const description = await this.client.workflow.getHandle(id).describe();
    // The copy's heartbeat, or before it the source's pin (which says what a blocked checkpoint waits for).
    const pending = description.raw.pendingActivities ?? [];
    const copy = ['checkpointAndCopy', 'pinSnapshot'].map((type) => pending.find((a) => a.activityType?.name === type)).find(Boolean);
    const payload = copy?.heartbeatDetails?.payloads?.[0];
    if (!payload) return job;
    const progress = this.client.options.loadedDataConverter.payloadConverter.fromPayload<CopyHeartbeat>(payload);
    return { ...job, progress };
  }

  /** Every job matching the filter, newest first, from Temporal's visibility. */
  async list(filter: JobFilter = {}): Promise<Job[]> {
    const reading: Promise<Job>[] = [];
    for await (const info of this.client.workflow.list({ query: listQuery(WORKFLOW_TYPE, validFilter(filter)) })) {
      reading.push(this.fromVisibility(info));
    }
    const jobs = await Promise.all(reading);
    await Promise.all(
      jobs.filter((job) => job.status === 'failed' && !job.error).map(async (job) => {
        const final = await this.get(job.id);
        if (final?.error) job.error = final.error;
      }),
    );
    return jobs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  /**
   * Cancels a job: it rolls back unless the owner already flipped. Returns the Job as
   * it stood; a job that had already ended is returned as it ended, and left alone.
   */
  async cancel(id: string): Promise<Job> {
    const job = await this.get(id);
    if (!job) throw unknownJob(id);
    if (isTerminal(job.status)) return job;
    try {
      await this.client.workflow.getHandle(id).cancel();
    } catch (err) {
      // It ended between the look and the request.
      if (err instanceof WorkflowNotFoundError) return (await this.get(id)) ?? job;
      throw err;
    }
    return job;
  }

  /**
   * Snapshots of a job as it changes, ending with its final state; throws NoWorkerError
   * when no worker polls the job's task queue, as it would not change again.
   */
  async *watch(id: string, intervalMs = 250): AsyncGenerator<JobSnapshot> {
    let last = '';
    let workerSeenAt = 0;
    for (;;) {
      const snap = await this.snapshot(id);
      const key = JSON.stringify(snap);
      if (key !== last) {
        last = key;
        yield snap;
      }
      if (isTerminal(snap.status)) return;
      if (Date.now() - workerSeenAt > WORKER_RECHECK_MS) {
        const idle = await this.idleQueue(id);
        if (idle) throw new NoWorkerError(idle, jobWaits(snap));
        workerSeenAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

const QUERY_PATIENCE_MS = 3000;

/** How often `watch` asks whether a worker still polls: a cheap call, and a worker's loss shows soon enough. */
const WORKER_RECHECK_MS = 5000;

type WorkflowHandle = ReturnType<Client['workflow']['getHandle']>;

/** The server's address, for messages; undefined for a connection that does not say. */
function serverAddress(client: Client): string | undefined {
  return (client.connection as { options?: { address?: string } }).options?.address;
}

export function newJobId(org: string, ns: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const random = Math.random().toString(36).slice(2, 6);
  return `migrate-${org}.${ns}-${stamp}-${random}`;
}

function unknownJob(id: string): TasksdError {
  return new TasksdError(ErrorType.UnknownJob, `unknown job ${id}: list jobs with "tasksd jobs"`);
}

function validFilter(filter: JobFilter): JobFilter {
  if (filter.status !== undefined && !(JOB_STATUSES as readonly string[]).includes(filter.status)) {
    throw new TasksdError(ErrorType.InvalidInput, `status ${JSON.stringify(filter.status)} is not one of ${JOB_STATUSES.join(', ')}`);
  }
  return {
    ...filter,
    org: filter.org === undefined ? undefined : parseId('org', filter.org),
    ns: filter.ns === undefined ? undefined : parseId('namespace', filter.ns),
    node: filter.node === undefined ? undefined : parseId('node', filter.node),
  };
}

function innermost(err: unknown): unknown {
  let current = err as { cause?: unknown };
  while (current?.cause) current = current.cause as { cause?: unknown };
  return current;
}
