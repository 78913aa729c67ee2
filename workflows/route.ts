// Where each step of a move runs, and with which timeouts and retries: the
// coordinator's catalog steps on the cluster's queue, each node's steps on that
// node's own queue (docs/NODES.md). One table of options, one proxy per policy.
import type { Duration } from '@temporalio/common';
import { ActivityCancellationType, proxyActivities, proxyLocalActivities, type ActivityInterfaceFor, type ActivityOptions, type LocalActivityInterfaceFor, type LocalActivityOptions } from '@temporalio/workflow';
import type { CoordinatorActivities, JobRef, NodeActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../common/errors';
import { clusterTaskQueue, nodeTaskQueue } from '../common/names';

const retryForever: ActivityOptions['retry'] = {
  initialInterval: '200ms',
  maximumInterval: '5s',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};
/**
 * For steps that may fail for good: a few failures in a row mean something is wrong. The
 * backoff still rides out an agent restarting (about two minutes of retries).
 */
const retryFewTimes: ActivityOptions['retry'] = { ...retryForever, initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 };
// A cancelled step must stop before the rollback starts: a copy still writing its
// .incoming, or a lock finishing after the rollback, would leave something behind.
const WAIT = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;

/** Every step's options, by policy. */
export const POLICIES = {
  /** Catalog steps: short, retried until done (a catalog server may be restarting). */
  catalog: { startToCloseTimeout: '30s', retry: retryForever, cancellationType: WAIT },
  /** Short steps on a node that must finish: a half-done lock or unlock is worse than a slow one. */
  step: { startToCloseTimeout: '30s', retry: retryForever, cancellationType: WAIT },
  /** Catch-up passes: short, and a few failures in a row mean something is wrong. */
  checks: { startToCloseTimeout: '30s', retry: retryFewTimes, cancellationType: WAIT },
  /** Whole-shard work (quick_check, pin, copy, offline replay): heartbeats, so a dead agent is noticed in seconds. */
  bulk: { startToCloseTimeout: '6 hours', heartbeatTimeout: '10s', retry: retryFewTimes, cancellationType: WAIT },
} satisfies Record<string, ActivityOptions>;

/**
 * Before the flip, a destination agent that does not take a step within this long is
 * given up on and the move rolls back (a retry on the same queue cannot help a dead
 * node). Its leftovers are swept by that agent when it returns. After the flip, and
 * always on the source, steps wait for the node as long as it takes.
 */
export const DESTINATION_GONE_AFTER: Duration = '60 seconds';

function nodeSteps(taskQueue: string, scheduleToStartTimeout?: Duration) {
  const on = <P extends ActivityOptions>(policy: P) => ({ ...policy, taskQueue, ...(scheduleToStartTimeout ? { scheduleToStartTimeout } : {}) });
  return {
    step: proxyActivities<NodeActivities>(on(POLICIES.step)),
    checks: proxyActivities<NodeActivities>(on(POLICIES.checks)),
    bulk: proxyActivities<NodeActivities>(on(POLICIES.bulk)),
  };
}

/**
 * Catalog steps bound for the queue the workflow itself runs on are local activities:
 * the worker that runs the workflow task is a coordinator on that very queue, with the
 * same catalog and activities, so running them in place changes who runs them in no
 * way, and saves each one an activity task and a workflow task on the server (a
 * move's catalog steps are a third of its steps). Same timeout, retries and
 * cancellation as POLICIES.catalog. Steps for another queue (a job started on the
 * shared queue naming its cluster) stay activities on that queue, so only that
 * cluster's coordinators run them.
 */
const LOCAL_CATALOG: LocalActivityOptions = { startToCloseTimeout: POLICIES.catalog.startToCloseTimeout, retry: retryForever, cancellationType: WAIT };

/**
 * The queue this workflow runs on, which decides whether catalog steps may run in place.
 * Asked of a local activity so it is in the history: replays (and the replay test's
 * worker, on a queue of its own) decide alike.
 */
export async function ownQueue(): Promise<string> {
  return proxyLocalActivities<CoordinatorActivities>(LOCAL_CATALOG).workflowQueue();
}

/**
 * The coordinator's catalog steps, on `taskQueue` (the cluster's queue, or the shared one
 * before the cluster is known); in place (local activities) when that is the workflow's own queue.
 */
export function coordinatorOn(taskQueue: string, inPlace = false): LocalActivityInterfaceFor<CoordinatorActivities> | ActivityInterfaceFor<CoordinatorActivities> {
  if (inPlace) return proxyLocalActivities<CoordinatorActivities>(LOCAL_CATALOG);
  return proxyActivities<CoordinatorActivities>({ ...POLICIES.catalog, taskQueue });
}

/**
 * Every proxy a move of `ref` needs, given the queue its workflow runs on and that queue
 * as recorded in its history (`own`, see ownQueue): catalog steps run
 * in place when the workflow runs on the cluster's own queue, judged from `own` alone.
 */
export function routeOf(ref: JobRef, workflowQueue: string, own?: string) {
  return {
    coordinator: coordinatorOn(clusterTaskQueue(workflowQueue, ref.cluster), own !== undefined && own === clusterTaskQueue(own, ref.cluster)),
    source: nodeSteps(nodeTaskQueue(workflowQueue, ref.cluster, ref.from)),
    /** Before the flip: given up on after DESTINATION_GONE_AFTER without an answer. */
    destination: nodeSteps(nodeTaskQueue(workflowQueue, ref.cluster, ref.to), DESTINATION_GONE_AFTER),
    /** After the flip: waited for. */
    newOwner: nodeSteps(nodeTaskQueue(workflowQueue, ref.cluster, ref.to)),
  };
}
export type Route = ReturnType<typeof routeOf>;
