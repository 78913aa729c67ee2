// migrateShard: one shard moves from its owner to another node. The Job lives in
// workflow state (the `status` query, search attributes, the result), so a crash of
// the worker or the server resumes from the last completed phase. After each phase
// that changes the cluster, a compensation is pushed; a failure or cancellation
// before the owner flips runs them (saga), one after it is reported as `released`.
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { CatchUpResult, MigrationActivities, JobRef, Prepared } from '../activities';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../common/errors';
import { ID_PATTERN } from '../common/ids';
import type { Job, JobStatus, MigrationRequest } from '../common/job';
import {
  MigrationBytes,
  MigrationFrom,
  MigrationNs,
  MigrationOrg,
  MigrationPauseMs,
  MigrationStatus,
  MigrationTo,
} from '../common/search-attributes';
import { claimedUpdate, statusQuery } from './definitions';

const retryForever: ActivityOptions['retry'] = {
  initialInterval: '200ms',
  maximumInterval: '5s',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};
const retryFewTimes: ActivityOptions['retry'] = { ...retryForever, maximumAttempts: 5 };

// Short phases retry until done (a half-done lock or unlock is worse than a slow one);
// a short timeout means a crashed worker's attempt is retried within seconds.
const control = proxyActivities<MigrationActivities>({ startToCloseTimeout: '10s', retry: retryForever });
const checks = proxyActivities<MigrationActivities>({ startToCloseTimeout: '30s', retry: retryFewTimes });
// prepare reads the whole source (quick_check) before locking: as long as a big shard
// needs, heartbeating, so a dead worker is still noticed in seconds.
const inspect = proxyActivities<MigrationActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '10s',
  retry: retryFewTimes,
});
// The copy heartbeats every chunk, so a dead worker is noticed in seconds.
const bulk = proxyActivities<MigrationActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '10s',
  retry: retryFewTimes,
});
// A cancelled copy must stop (and clean up its .incoming) before the rollback starts,
// or the two race on the destination directory.
const bulkUntilStopped = proxyActivities<MigrationActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '10s',
  retry: retryFewTimes,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
const COPY_WAITS_FOR_CANCELLATION = 'copy-waits-for-cancellation';

// The same for every phase a cancellation can interrupt: a lock that finishes after the
// rollback ran would leave the shard locked by a finished job, and a prepare that
// finishes after the job gave up would leave its claim behind. Lock and catch-up do not
// heartbeat, so "waiting" means until they finish; they are short.
const WAIT = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;
const PHASES_WAIT_FOR_CANCELLATION = 'phases-wait-for-cancellation';
const inspectUntilStopped = proxyActivities<MigrationActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '10s',
  retry: retryFewTimes,
  cancellationType: WAIT,
});
const controlUntilStopped = proxyActivities<MigrationActivities>({ startToCloseTimeout: '10s', retry: retryForever, cancellationType: WAIT });
const checksUntilStopped = proxyActivities<MigrationActivities>({ startToCloseTimeout: '30s', retry: retryFewTimes, cancellationType: WAIT });

/** The proxy jobs started since PHASES_WAIT_FOR_CANCELLATION use; older histories replay `before`. */
function untilStopped<T>(before: T, after: T): T {
  return patched(PHASES_WAIT_FOR_CANCELLATION) ? after : before;
}

/** Online moves re-run catch-up while writable until the locked replay fits the pause budget. */
const MAX_CATCH_UP_PASSES = 10;

// The online cut-over's three short steps run as local activities: in the worker that
// runs the workflow task, back to back, with no server round trip between them.
// Measured on a loaded 2-core VM, 3 writers: pauses of 77–225 ms instead of 282–845 ms.
const cutover = proxyLocalActivities<MigrationActivities>({ startToCloseTimeout: '10s', retry: retryForever });
const cutoverUntilStopped = proxyLocalActivities<MigrationActivities>({
  startToCloseTimeout: '10s',
  retry: retryForever,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
const LOCAL_CUTOVER = 'online-local-cutover';
/** Lock, replay and unlock each cost about one catch-up pass of store work. */
const CUTOVER_STEPS = 3;
/** The per-frame replay cost assumed when a pass applied too few frames to measure it. */
const MIN_MS_PER_FRAME = 0.05;

export async function migrateShard(request: MigrationRequest): Promise<Job> {
  const info = workflowInfo();
  const job: Job = {
    id: info.workflowId,
    org: requestedId(request?.org),
    ns: requestedId(request?.ns),
    from: '',
    to: requestedId(request?.to),
    status: 'pending',
    bytes: 0,
    startedAt: new Date().toISOString(),
    mode: request?.mode === 'online' ? 'online' : 'offline',
  };
  let claimSettled = false;
  let refusal = 'Refused';
  setHandler(statusQuery, () => job);
  setHandler(claimedUpdate, async () => {
    await condition(() => claimSettled);
    if (job.status === 'failed') throw ApplicationFailure.nonRetryable(job.error ?? 'migration refused', refusal);
    return job;
  });

  const setStatus = (status: JobStatus) => {
    job.status = status;
    publish(job);
  };

  // Current details only (no command): a job started from the Temporal CLI has no static summary.
  showDetails(job);

  let prepared: Prepared;
  try {
    prepared = await untilStopped(inspect, inspectUntilStopped).prepare.executeWithOptions(
      { summary: `validate the request and claim ${shard(job)} for the move to ${keyword(job.to)}` },
      [{ jobId: job.id, request }],
    );
  } catch (err) {
    finish(job, 'failed', describe(err), failureType(err));
    refusal = failureType(err) ?? refusal;
    claimSettled = true;
    return job;
  }
  Object.assign(job, { org: prepared.org, ns: prepared.ns, from: prepared.from, to: prepared.to, mode: prepared.mode });
  const ref: JobRef = { jobId: job.id, org: job.org, ns: job.ns, from: job.from, to: job.to, mode: job.mode };
  claimSettled = true;
  publish(job);

  try {
    await CancellationScope.cancellable(() =>
      job.mode === 'online' ? moveOnline(ref, prepared, job, setStatus) : moveOffline(ref, job, setStatus),
    );
    finish(job, 'released');
  } catch (err) {
    // Compensation must run to the end even when the workflow itself was cancelled.
    const { outcome } = await CancellationScope.nonCancellable(() =>
      control.rollback.executeWithOptions({ summary: `roll back: ${ref.from} keeps ${shard(ref)}, nothing left on ${ref.to}` }, [ref]),
    );
    if (outcome === 'already-released') finish(job, 'released');
    else if (isCancellation(err)) finish(job, 'failed', 'cancelled by operator; the move was rolled back', ErrorType.Cancelled);
    else finish(job, 'failed', describe(err), failureType(err));
  }
  return job;
}

async function moveOffline(ref: JobRef, job: Job, setStatus: (s: JobStatus) => void): Promise<void> {
  setStatus('locking');
  const { lockedAt } = await lock(ref);
  setStatus('copying');
  job.bytes = (await copy(ref)).bytes;
  setStatus('replaying');
  job.checksum = (await replay(ref)).checksum;
  await cutOver(ref, job, lockedAt);
}

async function moveOnline(ref: JobRef, prepared: Prepared, job: Job, setStatus: (s: JobStatus) => void): Promise<void> {
  // Jobs started since the local cut-over predict it from measured costs and run it as
  // local activities; histories recorded before replay the original steps.
  const local = patched(LOCAL_CUTOVER);
  setStatus('copying');
  job.bytes = (await copy(ref)).bytes;
  setStatus('replaying');
  for (let pass = 1; ; pass++) {
    const result = await untilStopped(checks, checksUntilStopped).catchUp.executeWithOptions(
      { summary: `catch up ${shard(ref)} on ${ref.to} while writable (pass ${pass})` },
      [ref],
    );
    const { backlog, msPerFrame } = result;
    const predictedMs = predictPauseMs(result);
    // (Before the local cut-over the prediction was the locked replay alone, within half the budget.)
    if (local ? predictedMs <= prepared.maxPauseMs : backlog * Math.max(msPerFrame, 0.05) <= prepared.maxPauseMs / 2) break;
    if (pass === MAX_CATCH_UP_PASSES) {
      throw ApplicationFailure.nonRetryable(
        local
          ? `shard ${ref.org}/${ref.ns} cannot be cut over within the ${prepared.maxPauseMs} ms pause budget: after ${pass} ` +
              `catch-up passes the cut-over would still pause writes for about ${Math.ceil(predictedMs)} ms ` +
              `(${backlog} frames behind); retry at a quieter time or raise --max-pause`
          : `shard ${ref.org}/${ref.ns} is written faster than it can be caught up: ${backlog} frames behind after ` +
              `${pass} passes would exceed the ${prepared.maxPauseMs} ms pause budget; retry at a quieter time or raise --max-pause`,
        'PauseBudgetExceeded',
      );
    }
  }
  setStatus('locking');
  if (local) return cutOverLocally(ref, job, setStatus);
  const { lockedAt } = await lock(ref);
  setStatus('replaying');
  job.checksum = (await replay(ref)).checksum;
  await cutOver(ref, job, lockedAt);
}

/**
 * The write pause a cut-over would cause now: its three steps' store work, measured by
 * the last catch-up pass, plus replaying the frames written since that pass read.
 */
function predictPauseMs(pass: CatchUpResult): number {
  return CUTOVER_STEPS * (pass.elapsedMs ?? 0) + pass.backlog * Math.max(pass.msPerFrame, MIN_MS_PER_FRAME);
}

/**
 * The online cut-over in one workflow task. A crash in it re-runs all three steps on
 * the next worker: each is idempotent, and lock and replay see a committed hand-off.
 */
async function cutOverLocally(ref: JobRef, job: Job, setStatus: (s: JobStatus) => void): Promise<void> {
  const { lockedAt } = await untilStopped(cutover, cutoverUntilStopped).lock.executeWithOptions({ summary: lockSummary(ref) }, [ref]);
  setStatus('replaying');
  job.checksum = (await untilStopped(cutover, cutoverUntilStopped).replay.executeWithOptions({ summary: replaySummary(ref) }, [ref])).checksum;
  const { unlockedAt } = await CancellationScope.nonCancellable(() =>
    cutover.unlock.executeWithOptions({ summary: unlockSummary(ref) }, [ref]),
  );
  job.pauseMs = Math.max(0, unlockedAt - lockedAt);
}

// Each activity call carries a one-line summary: the Web UI's timeline and pending
// activities then say what the step does to which shard, not just its type.
const lockSummary = (ref: JobRef) => `lock ${shard(ref)} on ${ref.from}: writes refused from here`;
const replaySummary = (ref: JobRef) => `replay frames since the barrier onto ${ref.to}, then verify checksums`;
const unlockSummary = (ref: JobRef) => `hand ${shard(ref)} to ${ref.to} and unlock`;

function lock(ref: JobRef) {
  return untilStopped(control, controlUntilStopped).lock.executeWithOptions({ summary: lockSummary(ref) }, [ref]);
}

function copy(ref: JobRef) {
  // Histories recorded before this change went straight to the rollback on cancellation.
  const proxy = patched(COPY_WAITS_FOR_CANCELLATION) ? bulkUntilStopped : bulk;
  return proxy.checkpointAndCopy.executeWithOptions(
    { summary: `checkpoint and copy ${shard(ref)} ${ref.from} → ${ref.to} (progress in heartbeat details)` },
    [ref],
  );
}

function replay(ref: JobRef) {
  return untilStopped(bulk, bulkUntilStopped).replay.executeWithOptions({ summary: replaySummary(ref) }, [ref]);
}

/** Once started, the hand-off runs to the end: cancelling it halfway would strand the shard. */
async function cutOver(ref: JobRef, job: Job, lockedAt: number): Promise<void> {
  const { unlockedAt } = await CancellationScope.nonCancellable(() =>
    control.unlock.executeWithOptions({ summary: unlockSummary(ref) }, [ref]),
  );
  job.pauseMs = Math.max(0, unlockedAt - lockedAt);
}

function finish(job: Job, status: 'released' | 'failed', error?: string, errorType?: string): void {
  job.status = status;
  if (error) job.error = error;
  if (errorType) job.errorType = errorType;
  job.finishedAt = new Date().toISOString();
  publish(job);
}

function publish(job: Job): void {
  upsertSearchAttributes([
    { key: MigrationStatus, value: job.status },
    { key: MigrationOrg, value: keyword(job.org) },
    { key: MigrationNs, value: keyword(job.ns) },
    { key: MigrationFrom, value: keyword(job.from) },
    { key: MigrationTo, value: keyword(job.to) },
    { key: MigrationBytes, value: job.bytes },
    ...(job.pauseMs !== undefined ? [{ key: MigrationPauseMs, value: job.pauseMs }] : []),
  ]);
  showDetails(job);
}

/** The Web UI's "Current Details": the Job at a glance, in markdown. */
function showDetails(job: Job): void {
  const route = `${keyword(job.from) || '?'} → ${keyword(job.to)}`;
  const lines = [`**${job.status}** · ${shard(job)} · ${route} · ${job.mode}`];
  // Mid-copy the workflow has no byte count yet; the copy's heartbeat has it.
  lines.push(job.status === 'copying' ? 'copy in progress: see checkpointAndCopy under Pending Activities' : `bytes copied: ${job.bytes}`);
  if (job.pauseMs !== undefined) lines.push(`write pause: ${job.pauseMs} ms`);
  if (job.error) lines.push(`error: ${job.error}`);
  setCurrentDetails(lines.join('\n\n'));
}

function shard(job: { org: string; ns: string }): string {
  return `${keyword(job.org)}/${keyword(job.ns)}`;
}

/**
 * Input is validated by prepare; until then only a well-formed id is shown, so hostile
 * text (escapes, megabytes) never reaches the Job, its search attributes or a terminal.
 */
function requestedId(value: unknown): string {
  return typeof value === 'string' && ID_PATTERN.test(value) ? value : '';
}

/** Input is validated by prepare; until then a hostile value must not break the upsert. */
function keyword(value: string): string {
  return value.length > 100 ? `${value.slice(0, 100)}…` : value;
}

function innermost(err: unknown): { message?: string; type?: string } | undefined {
  let current = err as { message?: string; type?: string; cause?: unknown } | undefined;
  while (current?.cause) current = current.cause as typeof current;
  return current;
}

/** The operator-facing reason: the innermost failure's message. */
function describe(err: unknown): string {
  return innermost(err)?.message ?? String(err);
}

function failureType(err: unknown): string | undefined {
  const inner = innermost(err);
  return inner instanceof ApplicationFailure ? (inner.type ?? undefined) : undefined;
}
