// The programmatic API of fleet jobs (drain, rebalance): start one, read it back, and
// steer it (pause, resume, concurrency, cancel). Everything comes from Temporal: the
// running job's `fleetStatus` query, a finished job's result, visibility for lists.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { JobSnapshot, MigrationClient } from '../client';
import { ErrorType, TasksdError, type ErrorTypeName } from '../common/errors';
import { clusterTaskQueue, FLEET_WORKFLOW_TYPE } from '../common/names';
import { FleetKind, FleetNode, FleetStatus as FleetStatusKey } from '../common/search-attributes';
import { parseJobId } from '../common/validation';
import { livePollers } from '../temporal/pollers';
import { cancelUpdate, fleetStatusQuery, pauseUpdate, plannedUpdate, resumeUpdate, setConcurrencyUpdate } from '../workflows/fleet-definitions';
import { FLEET_STATUSES, isFleetOver, type FleetJob, type FleetKind as Kind, type FleetRequest, type FleetStatus } from './types';
import { parseFleetRequest } from './validation';

/** A fleet job with each running move's live progress (its copy heartbeat). */
export interface FleetSnapshot extends FleetJob {
  moves: Array<Pick<JobSnapshot, 'id' | 'status' | 'progress'>>;
}

const QUERY_PATIENCE_MS = 3000;

export class FleetClient {
  constructor(private readonly migrations: MigrationClient) {}

  private get client(): Client {
    return this.migrations.client;
  }

  /** Where fleet jobs of this cluster run: the cluster's own queue. */
  get startQueue(): string {
    const { cluster, taskQueue } = this.migrations;
    return cluster ? clusterTaskQueue(taskQueue, cluster) : taskQueue;
  }

  /**
   * Starts a drain or a rebalance and returns the job once it has its plan. Refused at
   * once, starting nothing, for bad input or while another fleet job runs on the
   * cluster; a plan that cannot be made (no destination) ends the job and is thrown.
   */
  async start(request: FleetRequest, options: { jobId?: string; planTimeoutMs?: number } = {}): Promise<FleetJob> {
    const valid = parseFleetRequest(request);
    const busy = await this.list({ running: true });
    if (busy.length > 0) {
      throw new TasksdError(
        ErrorType.FleetBusy,
        `fleet job ${busy[0].id} (${busy[0].kind}${busy[0].node ? ` of ${busy[0].node}` : ''}) is running on this cluster; ` +
          `wait for it ("tasksd fleet watch ${busy[0].id}") or cancel it ("tasksd fleet cancel ${busy[0].id}")`,
      );
    }
    const id = options.jobId === undefined ? newFleetId(valid.kind, valid.node) : parseJobId(options.jobId);
    const input = this.migrations.cluster ? { ...valid, cluster: this.migrations.cluster } : valid;
    let handle;
    try {
      handle = await this.client.workflow.start(FLEET_WORKFLOW_TYPE, {
        workflowId: id,
        taskQueue: this.startQueue,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        typedSearchAttributes: [
          { key: FleetKind, value: valid.kind },
          { key: FleetStatusKey, value: 'planning' },
          ...(valid.node ? [{ key: FleetNode, value: valid.node }] : []),
        ],
        staticSummary: valid.kind === 'drain' ? `Drain node ${valid.node}` : `Rebalance (${valid.strategy ?? 'by-size'})`,
        staticDetails:
          `${valid.kind === 'drain' ? `Every shard of **${valid.node}** to other nodes` : 'Shards spread evenly over the nodes'}; ` +
          'each move is a child migrateShard. Query `fleetStatus` for the FleetJob.',
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new TasksdError(ErrorType.FleetBusy, `job id ${id} is already in use; pick another id`);
      throw err;
    }
    const timeoutMs = options.planTimeoutMs ?? 60_000;
    const planned = timeoutMs > 0 ? await this.within(timeoutMs, () => handle.executeUpdate(plannedUpdate)).catch(() => undefined) : undefined;
    const job = planned ?? (await this.get(id));
    if (!job) throw new Error(`fleet job ${id} vanished after start`);
    if (job.status === 'failed') throw new TasksdError((job.errorType as ErrorTypeName) ?? ErrorType.InvalidInput, job.error ?? 'the plan could not be made');
    return job;
  }

  /** The FleetJob, or null when there is no such fleet job. */
  async get(id: string): Promise<FleetJob | null> {
    const handle = this.client.workflow.getHandle(parseJobId(id));
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
    if (description.type !== FLEET_WORKFLOW_TYPE) return null;
    if (description.status.name === 'COMPLETED') return (await handle.result()) as FleetJob;
    if (description.status.name === 'RUNNING' && (await livePollers(this.client, description.taskQueue)).length > 0) {
      const answered = await this.within(QUERY_PATIENCE_MS, () => handle.query(fleetStatusQuery)).catch(() => undefined);
      if (answered) return answered;
    }
    // No worker to answer, or ended outside its control: what visibility knows.
    const sa = description.typedSearchAttributes;
    const recorded = sa.get(FleetStatusKey) as FleetStatus | undefined;
    const over = description.status.name !== 'RUNNING';
    return {
      id,
      kind: (sa.get(FleetKind) as Kind | undefined) ?? 'drain',
      ...(sa.get(FleetNode) ? { node: sa.get(FleetNode) } : {}),
      status: over ? 'failed' : recorded && FLEET_STATUSES.includes(recorded) ? recorded : 'planning',
      ...(over ? { error: `the fleet job was ${description.status.name.toLowerCase().replace(/_/g, ' ')} outside its control; its moves were cancelled` } : {}),
      concurrency: 0,
      maxIncoming: 0,
      maxOutgoing: 0,
      mode: 'offline',
      moved: { moves: 0, bytes: 0 },
      running: [],
      skipped: [],
      failed: [],
      toRetry: [],
      remaining: 0,
      startedAt: description.startTime.toISOString(),
      ...(description.closeTime ? { finishedAt: description.closeTime.toISOString() } : {}),
    };
  }

  /** Fleet jobs of this cluster, newest first. */
  async list(filter: { running?: boolean } = {}): Promise<FleetJob[]> {
    const clauses = [`WorkflowType = '${FLEET_WORKFLOW_TYPE}'`];
    if (this.migrations.cluster) clauses.push(`TaskQueue = '${this.startQueue}'`);
    if (filter.running) clauses.push(`ExecutionStatus = 'Running'`);
    const ids: string[] = [];
    for await (const info of this.client.workflow.list({ query: clauses.join(' AND ') })) ids.push(info.workflowId);
    const jobs = (await Promise.all(ids.map((id) => this.get(id)))).filter((j): j is FleetJob => j !== null);
    return jobs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  /** The final FleetJob, waiting for the end. */
  async result(id: string): Promise<FleetJob> {
    return (await this.client.workflow.getHandle(parseJobId(id)).result()) as FleetJob;
  }

  pause(id: string): Promise<FleetJob> {
    return this.control(id, (h) => h.executeUpdate(pauseUpdate));
  }

  resume(id: string): Promise<FleetJob> {
    return this.control(id, (h) => h.executeUpdate(resumeUpdate));
  }

  setConcurrency(id: string, concurrency: number): Promise<FleetJob> {
    return this.control(id, (h) => h.executeUpdate(setConcurrencyUpdate, { args: [concurrency] }));
  }

  /** Cancels the running moves (they roll back) and starts no more. A job already over is refused, saying how it ended. */
  cancel(id: string): Promise<FleetJob> {
    return this.control(id, (h) => h.executeUpdate(cancelUpdate));
  }

  /** Snapshots of the job, with each running move's progress, until it ends. */
  async *watch(id: string, intervalMs = 500): AsyncGenerator<FleetSnapshot> {
    for (;;) {
      const job = await this.get(id);
      if (!job) throw unknownFleetJob(id);
      const moves = await Promise.all(
        job.running.map(async (r) => {
          const snap = await this.migrations.snapshot(r.jobId).catch(() => undefined);
          return { id: r.jobId, status: snap?.status ?? 'pending', ...(snap?.progress ? { progress: snap.progress } : {}) };
        }),
      );
      yield { ...job, moves };
      if (isFleetOver(job.status)) return;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  private async control(id: string, call: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<FleetJob>): Promise<FleetJob> {
    const job = await this.get(id);
    if (!job) throw unknownFleetJob(id);
    if (isFleetOver(job.status)) throw new TasksdError(ErrorType.UnknownJob, `fleet job ${id} already ended (${job.status}${job.finishedAt ? ` at ${job.finishedAt}` : ''})`);
    try {
      return await call(this.client.workflow.getHandle(id));
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (err instanceof WorkflowUpdateFailedError && cause instanceof ApplicationFailure) {
        throw new TasksdError((cause.type as ErrorTypeName) ?? ErrorType.InvalidInput, cause.message);
      }
      throw err;
    }
  }

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
}

export function newFleetId(kind: Kind, node?: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `fleet-${kind}${node ? `-${node}` : ''}-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

function unknownFleetJob(id: string): TasksdError {
  return new TasksdError(ErrorType.UnknownJob, `unknown fleet job ${id}: list them with "tasksd fleet list"`);
}
