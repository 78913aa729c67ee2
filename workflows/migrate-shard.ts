// migrateShard: one shard moves from its owner to another node (docs/NODES.md, "A
// move"). The Job lives in workflow state (the `status` query, search attributes, the
// result), so a crash of any process resumes from the last completed step. The
// catalog's owner flip is the commit point: a failure or cancellation before it rolls
// the move back, one after it finishes the hand-off and reports `released`.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  isCancellation,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { CatchUpResult, JobRef, Prepared, SnapshotPin } from '../activities';
import { ErrorType } from '../common/errors';
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
import { describe, failureType } from './failures';
import { handOff, rollBack, shard } from './hand-off';
import { coordinatorOn, ownQueue, routeOf, type Route } from './route';

/** Online moves re-run catch-up while writable until the locked replay fits the pause budget. */
const MAX_CATCH_UP_PASSES = 10;
/** Lock, replay and the hand-off each cost about one catch-up pass of store work. */
const CUTOVER_STEPS = 3;
/** The per-frame replay cost assumed when a pass applied too few frames to measure it. */
const MIN_MS_PER_FRAME = 0.05;
/** An online source restarted mid-copy pins a new snapshot; the copy starts over this many times at most. */
const MAX_SNAPSHOT_RESTARTS = 3;

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

  // Every check runs before the claim, so a refusal leaves the cluster exactly as it was.
  let prepared: Prepared;
  let move: Move;
  try {
    const own = await ownQueue();
    prepared = await prepare(request, job.id, info.taskQueue, own);
    Object.assign(job, { org: prepared.org, ns: prepared.ns, from: prepared.from, to: prepared.to, mode: prepared.mode, cluster: prepared.cluster });
    const ref: JobRef = { jobId: job.id, org: job.org, ns: job.ns, from: job.from, to: job.to, mode: job.mode, cluster: prepared.cluster };
    move = { ref, job, route: routeOf(ref, info.taskQueue, own), prepared, setStatus };
    await check(move);
  } catch (err) {
    // A cancel before the claim has nothing to roll back; it is still the operator's cancel, and says so.
    if (isCancellation(err)) finish(job, 'failed', 'cancelled by operator before the move claimed the shard; nothing was changed', ErrorType.Cancelled);
    else finish(job, 'failed', describe(err), failureType(err));
    refusal = job.errorType ?? refusal;
    claimSettled = true;
    return job;
  }
  claimSettled = true;
  publish(job);

  try {
    await CancellationScope.cancellable(() => (job.mode === 'online' ? moveOnline(move) : moveOffline(move)));
    finish(job, 'released');
  } catch (err) {
    // Compensation runs to the end even when the workflow itself was cancelled.
    // A cancel that reached a step as its timeout (a step that cannot hear it) is still the operator's cancel.
    const cancelled = isCancellation(err) || CancellationScope.current().consideredCancelled;
    const gone = cancelled ? undefined : nodeGone(err, move.ref);
    const { outcome } = await rollBack(move.ref, move.route, { destinationGone: gone?.node === move.ref.to });
    if (outcome === 'already-released') finish(job, 'released');
    else if (cancelled) finish(job, 'failed', 'cancelled by operator; the move was rolled back', ErrorType.Cancelled);
    else if (gone) finish(job, 'failed', gone.message, ErrorType.NodeUnreachable);
    else finish(job, 'failed', describe(err), failureType(err));
  }
  return job;
}

/** One move in progress: what it moves, the Job it reports, and where each step runs. */
interface Move {
  ref: JobRef;
  job: Job;
  route: Route;
  prepared: Prepared;
  setStatus: (status: JobStatus) => void;
}

/**
 * Validates the request against the catalog. A job that names its cluster is prepared
 * by that cluster's coordinators only; one started without (the Temporal CLI) by
 * whichever coordinator takes it, whose cluster it then stays in.
 */
function prepare(request: MigrationRequest, jobId: string, workflowQueue: string, own: string | undefined): Promise<Prepared> {
  const requested = requestedId(request?.cluster);
  // In place only when the job runs on the queue prepare is bound for, judged from `own` alone (see routeOf):
  // its own queue when it names no cluster (whichever coordinator takes it prepares it, as before).
  const inPlace = own !== undefined && (requested ? own === clusterTaskQueue(own, requested) : true);
  const queue = requested ? clusterTaskQueue(workflowQueue, requested) : workflowQueue;
  return coordinatorOn(queue, inPlace).prepare.executeWithOptions(
    { summary: `validate the move of ${shard({ org: requestedId(request?.org), ns: requestedId(request?.ns) })} to ${requestedId(request?.to)}` },
    [{ jobId, request }],
  );
}

/**
 * The source exists and is free and the destination can take it; then the claim makes
 * this the only move of the shard. That the source is sound is proven while it streams
 * (copy), off this path: nothing reads the shard before the copy does.
 */
async function check({ ref, route }: Move): Promise<void> {
  const { bytes } = await route.source.bulk.inspectSource.executeWithOptions(
    { summary: `${ref.from}: ${shard(ref)} exists and is not locked` },
    [ref],
  );
  await route.destination.step.checkDestination.executeWithOptions({ summary: `${ref.to}: room for ${shard(ref)} (${bytes} bytes)` }, [ref, bytes]);
  await route.coordinator.claim.executeWithOptions({ summary: `claim ${shard(ref)} for this move` }, [ref]);
}

async function moveOffline(move: Move): Promise<void> {
  const { ref, job, route, setStatus } = move;
  setStatus('locking');
  const { lockedAt } = await lock(move);
  setStatus('copying');
  job.bytes = (await copy(move)).bytes;
  setStatus('replaying');
  job.checksum = (await route.destination.bulk.replay.executeWithOptions({ summary: replaySummary(ref) }, [ref])).checksum;
  await finishMove(move, lockedAt);
}

async function moveOnline(move: Move): Promise<void> {
  const { ref, job, route, prepared, setStatus } = move;
  setStatus('copying');
  job.bytes = (await copy(move)).bytes;
  setStatus('replaying');
  for (let pass = 1; ; pass++) {
    const result = await route.destination.checks.catchUp.executeWithOptions(
      { summary: `${ref.to} catches up on ${shard(ref)} while writable (pass ${pass})` },
      [ref],
    );
    if (predictPauseMs(result) <= prepared.maxPauseMs) break;
    if (pass === MAX_CATCH_UP_PASSES) throw pauseBudgetExceeded(ref, prepared.maxPauseMs, pass, result);
  }
  setStatus('locking');
  const { lockedAt } = await lock(move);
  setStatus('replaying');
  job.checksum = (await route.destination.checks.replay.executeWithOptions({ summary: replaySummary(ref) }, [ref])).checksum;
  await finishMove(move, lockedAt);
}

function lock({ ref, route }: Move) {
  return route.source.step.lock.executeWithOptions({ summary: `lock ${shard(ref)} on ${ref.from}: writes refused from here` }, [ref]);
}

/**
 * The source pins a snapshot and proves it sound (quick_check, content scan) while the
 * destination streams it, resuming from its last offset after an interruption, and
 * proves the bytes by SHA-256 on both ends. The source's digest waits for its proof: a
 * damaged source fails the copy as SourceCorrupt, and the move rolls back. Pinning
 * heartbeats while a reader holds the WAL, so the wait shows under Pending Activities.
 */
async function copy({ ref, route, prepared }: Move) {
  for (let attempt = 1; ; attempt++) {
    const pin: SnapshotPin = await route.source.bulk.pinSnapshot.executeWithOptions(
      { summary: `${ref.from} pins a snapshot of ${shard(ref)} for the copy and starts proving it sound` },
      [ref],
    );
    try {
      return await route.destination.bulk.checkpointAndCopy.executeWithOptions(
        { summary: `${ref.to} streams ${shard(ref)} from ${ref.from} (progress in heartbeat details)` },
        [ref, pin, prepared.maxBytesPerSecond],
      );
    } catch (err) {
      if (failureType(err) !== ErrorType.SnapshotChanged || attempt === MAX_SNAPSHOT_RESTARTS) throw err;
    }
  }
}

/** Once started, the hand-off runs to the end: cancelling it halfway would strand the shard. */
async function finishMove({ ref, job, route }: Move, lockedAt: number): Promise<void> {
  const { unlockedAt } = await handOff(ref, route);
  job.pauseMs = Math.max(0, unlockedAt - lockedAt);
}

const replaySummary = (ref: JobRef) => `${ref.to} replays the frames since the barrier, then checksums are compared`;

/**
 * The write pause a cut-over would cause now: its steps' store work, measured by the
 * last catch-up pass, plus replaying the frames written since that pass read.
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
  const lines = [`**${job.status}** · ${keyword(job.org)}/${keyword(job.ns)} · ${route} · ${job.mode}`];
  // Mid-copy the workflow has no byte count yet; the copy's heartbeat has it.
  lines.push(job.status === 'copying' ? 'copy in progress: see checkpointAndCopy under Pending Activities' : `bytes copied: ${job.bytes}`);
  if (job.pauseMs !== undefined) lines.push(`write pause: ${job.pauseMs} ms`);
  if (job.error) lines.push(`error: ${job.error}`);
  setCurrentDetails(lines.join('\n\n'));
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

/** Steps that run on the move's source node; every other node step runs on the destination. */
const SOURCE_STEPS = new Set(['inspectSource', 'lock', 'pinSnapshot', 'retire', 'unlockInPlace']);

/**
 * A step its node did not take in time (its agent is gone): the node, and what the
 * operator reads. A bare "activity ScheduleToStart timeout" names neither the node nor
 * what to do. Other timeouts are slow work on a live node, reported as they are.
 */
function nodeGone(err: unknown, ref: JobRef): { node: string; message: string } | undefined {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof TimeoutFailure)) return undefined;
  if (err.cause.timeoutType !== TimeoutType.SCHEDULE_TO_START) return undefined;
  const node = SOURCE_STEPS.has(err.activityType) ? ref.from : ref.to;
  return {
    node,
    message:
      `node ${node} did not take its step ${err.activityType} of the move of ${ref.org}/${ref.ns} (its agent is down or cannot reach Temporal); ` +
      `the move was rolled back: ${ref.from} still owns the shard, writable. Start the agent again (its leftovers are removed when it returns), then retry`,
  };
}
