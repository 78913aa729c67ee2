// How a Job reads for people: one table row, "key: value" lines, or the one-line
// phase summary that `watch` prints when stdout is not a terminal.
import { ErrorType } from '../common/errors';
import type { Job } from '../common/job';
import type { JobSnapshot } from '../client';
import { formatBytes, printFields, printTable } from './output';

export function printJob(job: Job): void {
  printFields([
    ['id', job.id],
    ['shard', `${job.org}/${job.ns}`],
    ['from', job.from || undefined],
    ['to', job.to],
    ['mode', job.mode],
    ['status', job.status],
    ['error', job.error],
    ['bytes', `${formatBytes(job.bytes)} (${job.bytes})`],
    ['pause', job.pauseMs === undefined ? undefined : `${job.pauseMs} ms`],
    ['checksum', job.checksum],
    ['started', job.startedAt],
    ['finished', job.finishedAt],
  ]);
}

export function printJobs(jobs: Job[]): void {
  printTable(
    ['job', 'shard', 'move', 'mode', 'status', 'size', 'pause', 'started (UTC)'],
    jobs.map((j) => [
      j.id,
      `${j.org}/${j.ns}`,
      `${j.from || '?'} -> ${j.to}`,
      j.mode,
      j.status,
      formatBytes(j.bytes),
      j.pauseMs === undefined ? '-' : `${j.pauseMs} ms`,
      j.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ''),
    ]),
    'no migration jobs match',
  );
}

/** e.g. `copying 12.0 MiB / 40.0 MiB`, `released acme/default node-a -> node-b, 40.0 MiB, paused 12 ms`. */
export function phaseLine(snap: JobSnapshot): string {
  switch (snap.status) {
    case 'copying':
      return snap.progress
        ? `copying ${formatBytes(snap.progress.bytesCopied)} / ${formatBytes(snap.progress.totalBytes)}`
        : 'copying';
    case 'released': {
      const pause = snap.pauseMs === undefined ? '' : `, paused ${snap.pauseMs} ms`;
      return `released ${snap.org}/${snap.ns} ${snap.from} -> ${snap.to}, ${formatBytes(snap.bytes)}${pause}`;
    }
    case 'failed':
      return `failed: ${snap.error ?? 'no reason recorded'}`;
    default:
      return snap.status;
  }
}

/** How a job ended, for a command that came too late (e.g. `cancel`): `job X already ended at T: released …`. */
export function endedLine(job: Job): string {
  const when = job.finishedAt ? ` at ${job.finishedAt}` : '';
  const ended = `job ${job.id} already ended${when}`;
  if (job.status === 'released') {
    return `${ended}: ${phaseLine(job)}; to undo it, move it back with "tasksd migrate --org ${job.org} --ns ${job.ns} --to ${job.from}"`;
  }
  if (job.errorType === ErrorType.Cancelled) return `${ended}: cancelled (${job.error ?? 'rolled back'})`;
  return `${ended}: ${phaseLine(job)}`;
}
