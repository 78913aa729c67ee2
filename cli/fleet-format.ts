// How plans and fleet jobs read for people: the moves, the load per node before and
// after, and a fleet job's summary (what moved, what was skipped, what failed, why).
import type { FleetJob, MoveOutcome, Plan, PlanSummary } from '../fleet/types';
import { formatBytes, printFields, printLine, printTable } from './output';

export function printPlan(plan: Plan): void {
  printLine(`${planTitle(plan)}: ${plan.moves.length} move(s), ${formatBytes(plan.bytes)}`);
  printTable(
    ['shard', 'from', 'to', 'size'],
    plan.moves.map((m) => [`${m.org}/${m.ns}`, m.from, m.to, formatBytes(m.bytes)]),
    'nothing to move',
  );
  printLoad(plan);
}

/** The load table and whether the goal is reached (and why not), for a plan or a job's plan summary. */
export function printLoad(plan: Plan | PlanSummary): void {
  printLine('load per node, before -> after:');
  printTable(
    ['node', 'shards', 'bytes', ''],
    plan.load.map((l) => [l.node, `${l.before.shards} -> ${l.after.shards}`, `${formatBytes(l.before.bytes)} -> ${formatBytes(l.after.bytes)}`, l.cordoned ? 'cordoned' : '']),
    'no nodes',
  );
  const goal = plan.kind === 'drain' ? `node ${plan.node} ends empty` : `every node within ${Math.round((plan.threshold ?? 0) * 100)} % of the mean`;
  printLine(plan.reached ? `goal reached: ${goal}` : `goal not reached (${goal}): ${plan.unreached}`);
  for (const note of plan.notes) printLine(`note: ${note}`);
}

function planTitle(plan: Plan | PlanSummary): string {
  return plan.kind === 'drain' ? `plan: drain ${plan.node} (${plan.strategy})` : `plan: rebalance ${plan.strategy}, threshold ${plan.threshold}`;
}

export function printFleetJob(job: FleetJob): void {
  printFields([
    ['id', job.id],
    ['kind', job.kind === 'drain' ? `drain of ${job.node}` : 'rebalance'],
    ['status', job.status],
    ['error', job.error],
    ['progress', progressLine(job)],
    ['concurrency', `${job.concurrency} at once; per node ${job.maxOutgoing} out, ${job.maxIncoming} in`],
    ['mode', `${job.mode}${job.maxBytesPerSecond ? `, copies capped at ${formatBytes(job.maxBytesPerSecond)}/s` : ''}`],
    ['started', job.startedAt],
    ['finished', job.finishedAt],
  ]);
  for (const r of job.running) printLine(`running: ${r.org}/${r.ns} ${r.from} -> ${r.to} (job ${r.jobId})`);
  printOutcomes('skipped', job.skipped);
  printOutcomes('failed', job.failed);
  printOutcomes('to retry', job.toRetry);
  if (job.plan?.unreached) printLine(`the plan does not reach its goal: ${job.plan.unreached}`);
}

function printOutcomes(what: string, outcomes: MoveOutcome[]): void {
  for (const o of outcomes) printLine(`${what}: ${o.org}/${o.ns} ${o.from} -> ${o.to}${o.jobId ? ` (job ${o.jobId})` : ''}: ${o.reason}`);
}

export function printFleetJobs(jobs: FleetJob[]): void {
  printTable(
    ['fleet job', 'kind', 'status', 'moved', 'failed', 'started (UTC)'],
    jobs.map((j) => [
      j.id,
      j.kind === 'drain' ? `drain ${j.node ?? '?'}` : 'rebalance',
      j.status,
      j.plan ? `${j.moved.moves}/${j.plan.moveCount}` : '-',
      j.failed.length,
      j.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ''),
    ]),
    'no fleet jobs',
  );
}

/** e.g. `moved 12 of 40 (3.1 MiB of 10.0 MiB), running 2, skipped 0, failed 0, remaining 26`. */
export function progressLine(job: FleetJob): string {
  if (!job.plan) return job.status;
  return (
    `moved ${job.moved.moves} of ${job.plan.moveCount} (${formatBytes(job.moved.bytes)} of ${formatBytes(job.plan.bytes)}), ` +
    `running ${job.running.length}, skipped ${job.skipped.length}, failed ${job.failed.length}` +
    `${job.toRetry.length ? ` (${job.toRetry.length} to retry)` : ''}, remaining ${job.remaining}`
  );
}

/** The last line of a fleet job: its end and what it did. */
export function summaryLine(job: FleetJob): string {
  const moved = `${job.moved.moves} moved (${formatBytes(job.moved.bytes)}), ${job.skipped.length} skipped, ${job.failed.length} failed`;
  if (job.status === 'failed') return `fleet job ${job.id} failed: ${job.error}`;
  const leftOut = job.remaining ? `, ${job.remaining} not started` : '';
  return `fleet job ${job.id} ${job.status}: ${moved}${leftOut}`;
}
