// fleetMove: a drain or a rebalance as one durable job. It plans once (an activity that
// stores the moves in the catalog), then runs them as child migrateShard workflows, each
// a full move of its own, visible on its own, on this job's task queue (the cluster's).
//
//   - At most `concurrency` moves at once, and per node at most `maxOutgoing` out and
//     `maxIncoming` in; both are enforced here, where every move starts.
//   - Each child's id is this job's id and the shard's (plus `.retry` for the second
//     attempt), started with REJECT_DUPLICATE: a replayed or resumed job can never start
//     a second move of a shard, and a start refused as a duplicate reads the first
//     one's outcome instead.
//   - The plan is fixed at start; each child is told the owner the plan expects, and a
//     shard another node owns by then is refused by the child's prepare and reported
//     skipped.
//   - A failed move does not stop the job; it is retried once after every other move.
//   - History stays bounded: every `movesPerRun` moves (or when Temporal suggests it),
//     the job lets its running moves finish and continues as new, carrying a cursor into
//     the stored plan, the few moves it had read but not started, and the counts. Moves
//     that did not happen are carried with their reasons (the summary lists them).
//   - Controls are updates (fleet-definitions.ts): pause, resume, setConcurrency, cancel.
//     A cancel (or a Temporal cancel of the whole job) cancels the running children,
//     which roll back by the single-move rules, and starts nothing more.
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { CoordinatorActivities } from '../activities';
import { ErrorType } from '../common/errors';
import { ID_PATTERN } from '../common/ids';
import type { Job, MigrationRequest } from '../common/job';
import { FleetKind, FleetNode, FleetStatus as FleetStatusKey, MigrationNs, MigrationOrg, MigrationStatus, MigrationTo } from '../common/search-attributes';
import {
  FLEET_DEFAULTS,
  MAX_CONCURRENCY,
  type FleetJob,
  type FleetRequest,
  type FleetStatus,
  type MoveOutcome,
  type PlannedMove,
  type PlanSummary,
  type RunningMove,
} from '../fleet/types';
import { cancelUpdate, fleetStatusQuery, pauseUpdate, plannedUpdate, resumeUpdate, setConcurrencyUpdate } from './fleet-definitions';
import type { migrateShard } from './migrate-shard';
import { describe, failureType } from './failures';
import { POLICIES } from './route';

const { planFleet, readPlan, dropPlan, jobOutcome } = proxyActivities<CoordinatorActivities>(POLICIES.catalog);

/** Moves read from the stored plan at a time. */
const PAGE = 50;
/** How long to wait between looks at a move an earlier run started. */
const OUTCOME_POLL = '10 seconds';
/** Reasons are one line; a very long one is cut here so the carried state stays small. */
const MAX_REASON = 400;

/** A planned move read from the catalog and not started yet; `prior` is its first failure, for a retry. */
interface WindowMove extends PlannedMove {
  prior?: MoveOutcome;
}

/** Everything a run hands the next across continue-as-new. */
export interface FleetState {
  request: FleetRequest;
  plan: PlanSummary;
  /** The next plan index to read. */
  cursor: number;
  window: WindowMove[];
  phase: 'main' | 'retry';
  moved: { moves: number; bytes: number };
  skipped: MoveOutcome[];
  failed: MoveOutcome[];
  toRetry: MoveOutcome[];
  paused: boolean;
  concurrency: number;
  startedAt: string;
}

export type FleetInput = FleetRequest & { carried?: FleetState };

export async function fleetMove(input: FleetInput): Promise<FleetJob> {
  const info = workflowInfo();
  const fleetId = info.workflowId;
  const { carried, ...requested } = input ?? ({} as FleetInput);
  let state: FleetState | undefined = carried;
  // Before planning only well-formed values are shown (the planner validates the rest).
  // Controls that arrive while the job is planning apply once it runs.
  const early: { paused: boolean; concurrency?: number; startedAt: string } = { paused: false, startedAt: new Date().toISOString() };
  let cancelRequested = false;
  let failure: { error: string; errorType?: string } | undefined;
  let finishedAt: string | undefined;
  const running = new Map<string, { move: RunningMove; scope: CancellationScope }>();
  const outgoing = new Map<string, number>();
  const incoming = new Map<string, number>();

  const statusNow = (): FleetStatus => {
    if (finishedAt) return failure ? 'failed' : cancelRequested ? 'cancelled' : 'finished';
    if (!state) return 'planning';
    if (cancelRequested) return 'cancelling';
    return state.paused ? 'paused' : 'running';
  };
  const view = (): FleetJob => {
    const request = state?.request;
    const kind = request?.kind ?? (requested.kind === 'rebalance' ? 'rebalance' : 'drain');
    const node = request?.node ?? (typeof requested.node === 'string' && ID_PATTERN.test(requested.node) ? requested.node : undefined);
    const waiting = state?.window ?? [];
    return {
      id: fleetId,
      kind,
      ...(node ? { node } : {}),
      ...(request?.cluster ? { cluster: request.cluster } : {}),
      status: statusNow(),
      ...(failure ?? {}),
      concurrency: state?.concurrency ?? early.concurrency ?? validConcurrency(requested.concurrency),
      maxIncoming: request?.maxIncoming ?? FLEET_DEFAULTS.maxIncoming,
      maxOutgoing: request?.maxOutgoing ?? FLEET_DEFAULTS.maxOutgoing,
      mode: request?.mode ?? 'offline',
      ...(request?.maxBytesPerSecond ? { maxBytesPerSecond: request.maxBytesPerSecond } : {}),
      ...(state ? { plan: state.plan } : {}),
      moved: state?.moved ?? { moves: 0, bytes: 0 },
      running: [...running.values()].map((r) => r.move),
      skipped: state?.skipped ?? [],
      failed: state?.failed ?? [],
      toRetry: [...(state?.toRetry ?? []), ...waiting.flatMap((m) => (m.prior ? [m.prior] : []))],
      remaining: state ? state.plan.moveCount - state.cursor + waiting.filter((m) => !m.prior).length : 0,
      startedAt: state?.startedAt ?? early.startedAt,
      ...(finishedAt ? { finishedAt } : {}),
    };
  };

  let shownStatus: FleetStatus | undefined;
  const publish = () => {
    const job = view();
    if (job.status !== shownStatus) {
      shownStatus = job.status;
      upsertSearchAttributes([
        { key: FleetKind, value: job.kind },
        { key: FleetStatusKey, value: job.status },
        ...(job.node ? [{ key: FleetNode, value: job.node }] : []),
      ]);
    }
    setCurrentDetails(details(job));
  };

  setHandler(fleetStatusQuery, view);
  setHandler(pauseUpdate, () => {
    if (state) state.paused = true;
    else early.paused = true;
    publish();
    return view();
  });
  setHandler(resumeUpdate, () => {
    if (state) state.paused = false;
    else early.paused = false;
    publish();
    return view();
  });
  setHandler(
    setConcurrencyUpdate,
    (n: number) => {
      if (state) state.concurrency = n;
      else early.concurrency = n;
      publish();
      return view();
    },
    {
      validator: (n: number) => {
        if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) {
          throw ApplicationFailure.nonRetryable(`concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}`, ErrorType.InvalidInput);
        }
      },
    },
  );
  setHandler(plannedUpdate, async () => {
    await condition(() => state !== undefined || failure !== undefined);
    return view();
  });
  setHandler(cancelUpdate, () => {
    cancelRequested = true;
    for (const { scope } of running.values()) scope.cancel();
    publish();
    return view();
  });
  publish();

  try {
    if (!state) {
      let planned;
      try {
        planned = await planFleet({ fleetId, request: requested });
      } catch (err) {
        if (isCancellation(err)) throw err;
        failure = { error: describe(err), ...(failureType(err) ? { errorType: failureType(err) } : {}) };
        finishedAt = new Date().toISOString();
        publish();
        await condition(allHandlersFinished);
        return view();
      }
      state = {
        request: planned.request,
        plan: planned.plan,
        cursor: 0,
        window: [],
        phase: 'main',
        moved: { moves: 0, bytes: 0 },
        skipped: [],
        failed: [],
        toRetry: [],
        paused: early.paused,
        concurrency: early.concurrency ?? planned.request.concurrency ?? FLEET_DEFAULTS.concurrency,
        startedAt: early.startedAt,
      };
      publish();
    }
    const s = state;
    const request = s.request;
    const limits = { in: request.maxIncoming ?? FLEET_DEFAULTS.maxIncoming, out: request.maxOutgoing ?? FLEET_DEFAULTS.maxOutgoing };
    const perRun = request.movesPerRun ?? FLEET_DEFAULTS.movesPerRun;
    let startedThisRun = 0;
    const wantsNewRun = () => startedThisRun >= perRun || workflowInfo().continueAsNewSuggested;
    const moreToRead = () => s.phase === 'main' && s.cursor < s.plan.moveCount;
    const needsRead = () => moreToRead() && s.window.length < PAGE / 2 && !wantsNewRun();
    const startable = () => {
      if (s.paused || cancelRequested || wantsNewRun() || running.size >= s.concurrency) return -1;
      return s.window.findIndex((m) => (outgoing.get(m.from) ?? 0) < limits.out && (incoming.get(m.to) ?? 0) < limits.in);
    };

    const start = (move: WindowMove) => {
      const attempt = move.prior ? move.prior.attempts + 1 : 1;
      const jobId = `${fleetId}.${move.org}.${move.ns}${attempt > 1 ? '.retry' : ''}`;
      const planned: PlannedMove = { org: move.org, ns: move.ns, from: move.from, to: move.to, bytes: move.bytes };
      const scope = new CancellationScope();
      running.set(jobId, { move: { ...planned, jobId, attempt, startedAt: new Date().toISOString() }, scope });
      bump(outgoing, move.from, 1);
      bump(incoming, move.to, 1);
      startedThisRun++;
      void scope
        .run(() => runMove(planned, jobId, request))
        .catch((err) => ({ kind: 'failed' as const, reason: describe(err), errorType: failureType(err) }))
        .then((outcome) => {
          record(s, planned, jobId, attempt, outcome, cancelRequested);
          running.delete(jobId);
          bump(outgoing, move.from, -1);
          bump(incoming, move.to, -1);
          publish();
        });
      publish();
    };

    for (;;) {
      if (cancelRequested) break;
      if (needsRead()) {
        const page = await readPlan({ fleetId, offset: s.cursor, limit: PAGE });
        s.cursor += page.length;
        s.window.push(...page);
        if (page.length === 0) s.cursor = s.plan.moveCount; // the stored plan is shorter than its summary says: nothing more to read
        continue;
      }
      if (s.window.length === 0 && running.size === 0 && !moreToRead()) {
        if (s.phase === 'retry' || s.toRetry.length === 0) break;
        // Every planned move was tried once: now the failed ones, once more, in plan order.
        s.phase = 'retry';
        s.window = s.toRetry.map((prior) => ({ org: prior.org, ns: prior.ns, from: prior.from, to: prior.to, bytes: prior.bytes, prior }));
        s.toRetry = [];
        publish();
        continue;
      }
      if (wantsNewRun() && running.size === 0) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof fleetMove>({ ...request, carried: s });
      }
      await condition(
        () =>
          cancelRequested ||
          startable() >= 0 ||
          needsRead() ||
          (running.size === 0 && (wantsNewRun() || (s.window.length === 0 && !moreToRead()))),
      );
      const next = startable();
      if (next >= 0) start(s.window.splice(next, 1)[0]);
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // The job itself was cancelled (Web UI, Temporal CLI): its children are cancelled with it.
    cancelRequested = true;
    publish();
  }
  // Cancelled: running moves roll back (or finish, past their flip) before the job ends.
  await CancellationScope.nonCancellable(async () => {
    await condition(() => running.size === 0);
    if (state) {
      // Moves that failed once and were never retried are failures too.
      state.failed.push(...state.toRetry);
      state.toRetry = [];
      await dropPlan({ fleetId });
    }
  });
  finishedAt = new Date().toISOString();
  publish();
  await condition(allHandlersFinished);
  return view();
}

type MoveResult = { kind: 'moved'; bytes: number } | { kind: 'skipped' | 'failed'; reason: string; errorType?: string };

/** One child move to its end; a start refused as a duplicate reads the earlier move's outcome. */
async function runMove(move: PlannedMove, jobId: string, request: FleetRequest): Promise<MoveResult> {
  const args: MigrationRequest = {
    org: move.org,
    ns: move.ns,
    to: move.to,
    from: move.from,
    mode: request.mode ?? 'offline',
    ...(request.maxBytesPerSecond ? { maxBytesPerSecond: request.maxBytesPerSecond } : {}),
    ...(request.cluster ? { cluster: request.cluster } : {}),
  };
  let job: Job;
  try {
    const child = await startChild<typeof migrateShard>('migrateShard', {
      workflowId: jobId,
      args: [args],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // A job ended from outside (terminated) cancels its moves, which roll back.
      parentClosePolicy: 'REQUEST_CANCEL',
      memo: { mode: args.mode, fleet: workflowInfo().workflowId },
      typedSearchAttributes: [
        { key: MigrationStatus, value: 'pending' },
        { key: MigrationOrg, value: move.org },
        { key: MigrationNs, value: move.ns },
        { key: MigrationTo, value: move.to },
      ],
      staticSummary: `Move ${move.org}/${move.ns} ${move.from} → ${move.to} (${args.mode}), part of ${workflowInfo().workflowId}`,
    });
    job = await child.result();
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    job = await earlierOutcome(jobId);
  }
  if (job.status === 'released') return { kind: 'moved', bytes: job.bytes };
  const reason = job.error ?? 'failed with no reason recorded';
  if (job.errorType === ErrorType.OwnerChanged || job.errorType === ErrorType.SameNode) return { kind: 'skipped', reason, errorType: job.errorType };
  return { kind: 'failed', reason, ...(job.errorType ? { errorType: job.errorType } : {}) };
}

/** The outcome of a move an earlier run of this job started (after a reset, say), waiting while it runs. */
async function earlierOutcome(jobId: string): Promise<Job> {
  for (;;) {
    const job = await jobOutcome({ jobId });
    if (job) return job;
    await sleep(OUTCOME_POLL);
  }
}

function record(s: FleetState, move: PlannedMove, jobId: string, attempts: number, result: MoveResult, cancelled: boolean): void {
  if (result.kind === 'moved') {
    s.moved.moves += 1;
    s.moved.bytes += result.bytes;
    return;
  }
  let { reason } = result;
  const { errorType } = result;
  if (reason.length > MAX_REASON) reason = `${reason.slice(0, MAX_REASON)}…`;
  const outcome: MoveOutcome = { ...move, jobId, reason, attempts, ...(errorType ? { errorType } : {}) };
  if (result.kind === 'skipped') s.skipped.push(outcome);
  else if (attempts === 1 && !cancelled && errorType !== ErrorType.Cancelled) s.toRetry.push(outcome);
  else s.failed.push(outcome);
}

function validConcurrency(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_CONCURRENCY ? value : FLEET_DEFAULTS.concurrency;
}

function bump(counts: Map<string, number>, node: string, by: number): void {
  counts.set(node, (counts.get(node) ?? 0) + by);
}

/** The Web UI's "Current Details": the job at a glance, in markdown. */
function details(job: FleetJob): string {
  const what = job.kind === 'drain' ? `**drain** of ${job.node ?? '?'}` : `**rebalance** (${job.plan?.strategy ?? 'by-size'})`;
  const lines = [`${what} · **${job.status}** · ${job.concurrency} at once, per node ${job.maxOutgoing} out / ${job.maxIncoming} in · ${job.mode}`];
  if (job.error) lines.push(`error: ${job.error}`);
  if (job.plan) {
    lines.push(
      `done ${job.moved.moves} of ${job.plan.moveCount} (${job.moved.bytes} of ${job.plan.bytes} bytes) · running ${job.running.length} · ` +
        `skipped ${job.skipped.length} · failed ${job.failed.length} (to retry ${job.toRetry.length}) · remaining ${job.remaining}`,
    );
    if (job.plan.unreached) lines.push(`the plan does not reach its goal: ${job.plan.unreached}`);
  }
  for (const r of job.running.slice(0, 10)) lines.push(`running: ${r.org}/${r.ns} ${r.from} → ${r.to} (${r.jobId})`);
  for (const f of job.failed.slice(0, 10)) lines.push(`failed: ${f.org}/${f.ns}: ${f.reason}`);
  return lines.join('\n\n');
}
