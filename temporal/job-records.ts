// Reads Jobs back from Temporal: a finished job from its result, a running one from
// its `status` query, and list rows from visibility (search attributes), so no side
// table is needed and a job started from the Temporal CLI shows up like any other.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Job, JobStatus, MigrationMode } from '../common/job';
import { JOB_STATUSES } from '../common/job';
import {
  MigrationBytes,
  MigrationFrom,
  MigrationNs,
  MigrationOrg,
  MigrationPauseMs,
  MigrationStatus,
  MigrationTo,
} from '../common/search-attributes';

/** A Job as visibility knows it; `error` needs the result and is filled in by the caller. */
export function jobFromExecution(
  info: Pick<WorkflowExecutionInfo, 'workflowId' | 'status' | 'startTime' | 'closeTime' | 'memo' | 'typedSearchAttributes'>,
): Job {
  const sa = info.typedSearchAttributes;
  const recorded = sa.get(MigrationStatus);
  const closedBadly = info.status.name !== 'RUNNING' && info.status.name !== 'COMPLETED';
  const status: JobStatus = closedBadly
    ? 'failed'
    : recorded && (JOB_STATUSES as readonly string[]).includes(recorded)
      ? (recorded as JobStatus)
      : 'pending';
  const pauseMs = sa.get(MigrationPauseMs);
  const job: Job = {
    id: info.workflowId,
    org: sa.get(MigrationOrg) ?? '',
    ns: sa.get(MigrationNs) ?? '',
    from: sa.get(MigrationFrom) ?? '',
    to: sa.get(MigrationTo) ?? '',
    status,
    bytes: Number(sa.get(MigrationBytes) ?? 0),
    startedAt: info.startTime.toISOString(),
    mode: ((info.memo?.mode as MigrationMode | undefined) ?? 'offline'),
  };
  if (info.closeTime) job.finishedAt = info.closeTime.toISOString();
  if (pauseMs !== undefined) job.pauseMs = Number(pauseMs);
  if (closedBadly) job.error = `workflow ${info.status.name.toLowerCase().replace('_', ' ')} outside the migration's control; check the shard with "tasksd shards"`;
  return job;
}

/**
 * The mode a job was started with, read from its recorded input. Visibility only has
 * it in the memo the client writes; a job started from the Temporal CLI has no memo.
 * Reading the first history event needs no worker, unlike the `status` query.
 */
export async function startedMode(client: Client, workflowId: string): Promise<MigrationMode> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId },
    maximumPageSize: 1,
  });
  const payload = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const input = payload ? client.options.loadedDataConverter.payloadConverter.fromPayload<{ mode?: unknown } | null>(payload) : null;
  return input?.mode === 'online' ? 'online' : 'offline'; // the workflow's own default
}

/** The visibility query for jobs matching a filter (values are validated ids). */
export function listQuery(workflowType: string, filter: JobFilter = {}): string {
  const clauses = [`WorkflowType = '${workflowType}'`];
  if (filter.status) clauses.push(`${MigrationStatus.name} = '${filter.status}'`);
  if (filter.org) clauses.push(`${MigrationOrg.name} = '${filter.org}'`);
  if (filter.ns) clauses.push(`${MigrationNs.name} = '${filter.ns}'`);
  if (filter.node) clauses.push(`(${MigrationFrom.name} = '${filter.node}' OR ${MigrationTo.name} = '${filter.node}')`);
  if (filter.running) clauses.push(`ExecutionStatus = 'Running'`);
  if (filter.taskQueue) clauses.push(`TaskQueue = '${filter.taskQueue.replace(/'/g, '')}'`);
  return clauses.join(' AND ');
}

export interface JobFilter {
  status?: JobStatus;
  org?: string;
  ns?: string;
  /** Jobs moving a shard from or to this node. */
  node?: string;
  running?: boolean;
  /** Jobs on this task queue only (a cluster's own queue: that cluster's jobs). */
  taskQueue?: string;
}
