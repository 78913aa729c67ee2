// Whether a worker is there to run a job, asked of the server (DescribeTaskQueue
// pollers), so commands can say "no worker" at once instead of waiting on a job
// nobody will run. Takes the queue name: the workflow queue today, and any other
// queue (a cluster's activity queue, say) the same way.
import type { Client } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';

/**
 * The server lists a poller for minutes after its worker is gone, stamped with the
 * start of its last poll. A live worker starts a new long poll at least once a
 * minute, so an older stamp is a worker that went away; twice that leaves room for a
 * busy server.
 */
export const POLLER_GONE_AFTER_MS = 120_000;

/** A worker that is just starting may not have polled yet: look again for this long. */
export const STARTING_WORKER_GRACE_MS = 2_000;

const RECHECK_EVERY_MS = 250;

/** Identities of the workers that polled `taskQueue` for workflow tasks recently enough to be alive. */
export async function livePollers(client: Client, taskQueue: string, now = Date.now()): Promise<string[]> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (pollers ?? [])
    .filter((poller) => now - (optionalTsToMs(poller.lastAccessTime) ?? 0) < POLLER_GONE_AFTER_MS)
    .map((poller) => poller.identity ?? '');
}

/** True once a live worker polls `taskQueue`; false after `graceMs` without one. */
export async function workerPolls(client: Client, taskQueue: string, graceMs = STARTING_WORKER_GRACE_MS): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    if ((await livePollers(client, taskQueue)).length > 0) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, RECHECK_EVERY_MS));
  }
}
