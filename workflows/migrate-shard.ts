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
import { clusterTaskQueue } from '../common/names';
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
// A cancelled phase must stop before the rollback starts: a copy still writing its
// .incoming, a lock finishing after the rollback, or a prepare claiming after the job
// gave up would each leave something behind. Lock and catch-up do not heartbeat, so
// "waiting" means until they finish; they are short.
const WAIT = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;

/** Every activity's options, by policy. */
const POLICIES = {
  /** Short steps that retry until done: a half-done lock or unlock is worse than a slow one. */
  control: { startToCloseTimeout: '10s', retry: retryForever, cancellationType: WAIT },
  /** Catch-up passes: short, and a few failures in a row mean something is wrong. */
  checks: { startToCloseTimeout: '30s', retry: retryFewTimes, cancellationType: WAIT },
  /** Whole-shard work (prepare's quick_check, the copy, the offline replay): heartbeats, so a dead worker is noticed in seconds. */
  bulk: { startToCloseTimeout: '6 hours', heartbeatTimeout: '10s', retry: retryFewTimes, cancellationType: WAIT },
} satisfies Record<string, ActivityOptions>;

/** One proxy per policy, on the task queue of the cluster the job acts on. */
function activitiesOn(taskQueue: string) {
  return {
    control: proxyActivities<MigrationActivities>({ ...POLICIES.control, taskQueue }),
    checks: proxyActivities<MigrationActivities>({ ...POLICIES.checks, taskQueue }),
    bulk: proxyActivities<MigrationActivities>({ ...POLICIES.bulk, taskQueue }),
  };
}
type Phases = ReturnType<typeof activitiesOn>;

/** Online moves re-run catch-up while writable until the locked replay fits the pause budget. */
const MAX_CATCH_UP_PASSES = 10;

// The online cut-over's three short steps run as local activities: in the worker that
// runs the workflow task, back to back, with no server round trip between them.
// Measured on a loaded 2-core VM, 3 writers: pauses of 77–225 ms instead of 282–845 ms.
// Only a job started on its cluster's own task queue may do so: on the shared queue the
// workflow task could be run by another cluster's worker.
const cutover = proxyLocalActivities<MigrationActivities>({ startToCloseTimeout: '10s', retry: retryForever, cancellationType: WAIT });
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

  // A job for a named cluster is prepared by that cluster's workers only; one started
  // without a cluster (the Temporal CLI) is prepared by whichever worker takes it.
  const requested = requestedId(request?.cluster);
  let prepared: Prepared;
  try {
    prepared = await activitiesOn(requested ? clusterTaskQueue(info.taskQueue, requested) : info.taskQueue).bulk.prepare.executeWithOptions(
      { summary: `validate the request and claim ${shard(job)} for the move to ${keyword(job.to)}` },
      [{ jobId: job.id, request }],
    );
  } catch (err) {
    finish(job, 'failed', describe(err), failureType(err));
    refusal = failureType(err) ?? refusal;
    claimSettled = true;
    return job;
  }
  Object.assign(job, { org: prepared.org, ns: prepared.ns, from: prepared.from, to: prepared.to, mode: prepared.mode, cluster: prepared.cluster });
  const ref: JobRef = { jobId: job.id, org: job.org, ns: job.ns, from: job.from, to: job.to, mode: job.mode, cluster: prepared.cluster };
  claimSettled = true;
  publish(job);

  // From here on every step runs on the claiming cluster's own queue.
  const clusterQueue = clusterTaskQueue(info.taskQueue, prepared.cluster);
  const phases = activitiesOn(clusterQueue);
  // A job that names its cluster is started on that cluster's queue (the client does),
  // so its workflow tasks, and local activities with them, run on that cluster's workers.
  const move: Move = { ref, job, phases, setStatus, localCutover: requested === prepared.cluster };
  try {
    await CancellationScope.cancellable(() => (job.mode === 'online' ? moveOnline(move, prepared) : moveOffline(move)));
    finish(job, 'released');
  } catch (err) {
    // Compensation must run to the end even when the workflow itself was cancelled.
    const { outcome } = await CancellationScope.nonCancellable(() =>
      phases.control.rollback.executeWithOptions({ summary: `roll back: ${ref.from} keeps ${shard(ref)}, nothing left on ${ref.to}` }, [ref]),
    );
    if (outcome === 'already-released') finish(job, 'released');
    else if (isCancellation(err)) finish(job, 'failed', 'cancelled by operator; the move was rolled back', ErrorType.Cancelled);
    else finish(job, 'failed', describe(err), failureType(err));
  }
  return job;
}

/** One move in progress: what it moves, the Job it reports, and the proxies on its cluster's queue. */
interface Move {
  ref: JobRef;
  job: Job;
  phases: Phases;
  setStatus: (status: JobStatus) => void;
  /** True when this workflow runs on its cluster's queue, so local activities reach the right catalog. */
  localCutover: boolean;
}

async function moveOffline(move: Move): Promise<void> {
  const { job, setStatus } = move;
  setStatus('locking');
  const { lockedAt } = await lock(move);
  setStatus('copying');
  job.bytes = (await copy(move)).bytes;
  setStatus('replaying');
  job.checksum = (await replay(move)).checksum;
  await cutOver(move, lockedAt);
}

async function moveOnline(move: Move, prepared: Prepared): Promise<void> {
  const { ref, job, phases, setStatus } = move;
  setStatus('copying');
  job.bytes = (await copy(move)).bytes;
  setStatus('replaying');
  for (let pass = 1; ; pass++) {
    const result = await phases.checks.catchUp.executeWithOptions(
      { summary: `catch up ${shard(ref)} on ${ref.to} while writable (pass ${pass})` },
      [ref],
    );
    const predictedMs = predictPauseMs(result);
    if (predictedMs <= prepared.maxPauseMs) break;
    if (pass === MAX_CATCH_UP_PASSES) throw pauseBudgetExceeded(ref, prepared.maxPauseMs, pass, result);
  }
  setStatus('locking');
  if (move.localCutover) return cutOverLocally(move);
  const { lockedAt } = await lock(move);
  setStatus('replaying');
  job.checksum = (await replay(move)).checksum;
  await cutOver(move, lockedAt);
}

/**
 * The write pause a cut-over would cause now: its three steps' store work, measured by
 * the last catch-up pass, plus replaying the frames written since that pass read.
 */
function predictPauseMs(pass: CatchUpResult): number {
  return CUTOVER_STEPS * (pass.elapsedMs ?? 0) + pass.backlog * Math.max(pass.msPerFrame, MIN_MS_PER_FRAME);
}

/** Names what the pause would cost: writers racing the catch-up, or the cut-over's own store work. */
function pauseBudgetExceeded(ref: JobRef, budgetMs: number, passes: number, last: CatchUpResult): ApplicationFailure {
  const predictedMs = Math.ceil(predictPauseMs(last));
  const stepsMs = Math.ceil(CUTOVER_STEPS * (last.elapsedMs ?? 0));
  const cause =
    last.backlog === 0
      ? `with nothing behind, the cut-over's own work (lock, replay, unlock: about ${stepsMs} ms on this shard and disk) ` +
        `exceeds the ${budgetMs} ms pause budget; raise --max-pause to at least ${predictedMs} ms or move it offline`
      : `after ${passes} catch-up passes the cut-over would still pause writes for about ${predictedMs} ms ` +
        `(${last.backlog} frames behind, ${stepsMs} ms of cut-over work) against the ${budgetMs} ms pause budget; ` +
        'retry when the shard is written less, or raise --max-pause';
  return ApplicationFailure.nonRetryable(`shard ${ref.org}/${ref.ns} cannot be cut over in time: ${cause}`, 'PauseBudgetExceeded');
}

/**
 * The online cut-over in one workflow task. A crash in it re-runs all three steps on
 * the next worker: each is idempotent, and lock and replay see a committed hand-off.
 */
async function cutOverLocally({ ref, job, setStatus }: Move): Promise<void> {
  const { lockedAt } = await cutover.lock.executeWithOptions({ summary: lockSummary(ref) }, [ref]);
  setStatus('replaying');
  job.checksum = (await cutover.replay.executeWithOptions({ summary: replaySummary(ref) }, [ref])).checksum;
  const { unlockedAt } = await CancellationScope.nonCancellable(() => cutover.unlock.executeWithOptions({ summary: unlockSummary(ref) }, [ref]));
  job.pauseMs = Math.max(0, unlockedAt - lockedAt);
}

// Each activity call carries a one-line summary: the Web UI's timeline and pending
// activities then say what the step does to which shard, not just its type.
const lockSummary = (ref: JobRef) => `lock ${shard(ref)} on ${ref.from}: writes refused from here`;
const replaySummary = (ref: JobRef) => `replay frames since the barrier onto ${ref.to}, then verify checksums`;
const unlockSummary = (ref: JobRef) => `hand ${shard(ref)} to ${ref.to} and unlock`;

function lock({ ref, phases }: Move) {
  return phases.control.lock.executeWithOptions({ summary: lockSummary(ref) }, [ref]);
}

function copy({ ref, phases }: Move) {
  return phases.bulk.checkpointAndCopy.executeWithOptions(
    { summary: `checkpoint and copy ${shard(ref)} ${ref.from} → ${ref.to} (progress in heartbeat details)` },
    [ref],
  );
}

function replay({ ref, phases }: Move) {
  return phases.bulk.replay.executeWithOptions({ summary: replaySummary(ref) }, [ref]);
}

/** Once started, the hand-off runs to the end: cancelling it halfway would strand the shard. */
async function cutOver({ ref, job, phases }: Move, lockedAt: number): Promise<void> {
  const { unlockedAt } = await CancellationScope.nonCancellable(() =>
    phases.control.unlock.executeWithOptions({ summary: unlockSummary(ref) }, [ref]),
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
