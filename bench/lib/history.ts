// Where a move's time went, read from its workflow history: each activity's queue
// wait (scheduled → started) and run (started → completed), and the workflow tasks
// between them. Event times are the server's clock, so they include no client time.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const EventType = temporal.api.enums.v1.EventType;

export interface ActivitySpan {
  name: string;
  scheduled: number;
  started: number;
  completed: number;
}

export interface Timeline {
  startedAt: number;
  closedAt: number;
  activities: ActivitySpan[];
  /** Workflow tasks: scheduled → started is queue wait, started → completed is the worker running workflow code. */
  workflowTasks: { scheduled: number; started: number; completed: number }[];
}

/** Milliseconds spent in each kind of step of one move. */
export interface Breakdown {
  total: number;
  activityRun: number;
  activityQueue: number;
  workflowTaskRun: number;
  workflowTaskQueue: number;
  /** Server time between steps (recording events, dispatching the next task). */
  between: number;
  perActivity: Record<string, number>;
}

function ms(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!ts) return NaN;
  return Number(ts.seconds ?? 0) * 1000 + (ts.nanos ?? 0) / 1e6;
}

export async function timeline(client: Client, workflowId: string): Promise<Timeline> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const byId = new Map<number, ActivitySpan>();
  const tasks = new Map<number, { scheduled: number; started: number; completed: number }>();
  let startedAt = NaN;
  let closedAt = NaN;
  for (const event of events) {
    const id = Number(event.eventId);
    const at = ms(event.eventTime);
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        startedAt = at;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        closedAt = at;
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        byId.set(id, { name: event.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', scheduled: at, started: NaN, completed: NaN });
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        byId.get(Number(event.activityTaskStartedEventAttributes?.scheduledEventId))!.started = at;
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        byId.get(Number(event.activityTaskCompletedEventAttributes?.scheduledEventId))!.completed = at;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        tasks.set(id, { scheduled: at, started: NaN, completed: NaN });
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        tasks.get(Number(event.workflowTaskStartedEventAttributes?.scheduledEventId))!.started = at;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        tasks.get(Number(event.workflowTaskCompletedEventAttributes?.scheduledEventId))!.completed = at;
        break;
    }
  }
  return { startedAt, closedAt, activities: [...byId.values()], workflowTasks: [...tasks.values()].filter((t) => t.completed >= 0) };
}

/**
 * Splits the workflow's span into non-overlapping parts: a workflow task may run while
 * an activity does (an update arriving mid-activity), so each instant is charged to
 * one kind only, in this priority: activity running, workflow task running, activity
 * queued, workflow task queued; an instant covered by none is "between".
 */
export function breakdown(t: Timeline): Breakdown {
  const kinds = ['activityRun', 'workflowTaskRun', 'activityQueue', 'workflowTaskQueue'] as const;
  const spans: { kind: (typeof kinds)[number]; from: number; to: number }[] = [
    ...t.activities.map((a) => ({ kind: 'activityRun' as const, from: a.started, to: a.completed })),
    ...t.workflowTasks.map((w) => ({ kind: 'workflowTaskRun' as const, from: w.started, to: w.completed })),
    ...t.activities.map((a) => ({ kind: 'activityQueue' as const, from: a.scheduled, to: a.started })),
    ...t.workflowTasks.map((w) => ({ kind: 'workflowTaskQueue' as const, from: w.scheduled, to: w.started })),
  ].filter((span) => span.to > span.from);
  const edges = [...new Set([t.startedAt, t.closedAt, ...spans.flatMap((x) => [x.from, x.to])])]
    .filter((e) => e >= t.startedAt && e <= t.closedAt)
    .sort((a, b) => a - b);
  const parts = { activityRun: 0, workflowTaskRun: 0, activityQueue: 0, workflowTaskQueue: 0, between: 0 };
  for (let i = 1; i < edges.length; i++) {
    const [from, to] = [edges[i - 1], edges[i]];
    const covering = kinds.find((kind) => spans.some((x) => x.kind === kind && x.from <= from && x.to >= to));
    parts[covering ?? 'between'] += to - from;
  }
  const perActivity: Record<string, number> = {};
  for (const a of t.activities) perActivity[a.name] = (perActivity[a.name] ?? 0) + (a.completed - a.started);
  return { total: t.closedAt - t.startedAt, ...parts, perActivity };
}
