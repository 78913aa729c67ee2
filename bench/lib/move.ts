// One move through the product's public client, timed from the caller's side
// (start → final Job) and broken down from the workflow's history.
import type { Job, MigrationRequest } from '../../common/job';
import type { MigrationClient } from '../../client';
import { breakdown, timeline, type Breakdown, type Timeline } from './history';
import type { ShardRef } from './shards';

export interface MoveSample {
  jobId: string;
  job: Job;
  /** Client wall time: MigrationClient.migrate() call to its final Job. */
  wallMs: number;
  timeline: Timeline;
  breakdown: Breakdown;
}

export async function move(
  migrations: MigrationClient,
  ref: ShardRef,
  to: string,
  mode: 'offline' | 'online' = 'offline',
  options: Pick<MigrationRequest, 'maxBytesPerSecond'> = {},
): Promise<MoveSample> {
  const started = performance.now();
  const job = await migrations.migrate({ org: ref.org, ns: ref.ns, to, mode, ...options });
  const wallMs = performance.now() - started;
  if (job.status !== 'released') throw new Error(`bench move of ${ref.org}/${ref.ns} to ${to} ended ${job.status}: ${job.error}`);
  const t = await timeline(migrations.client, job.id);
  return { jobId: job.id, job, wallMs, timeline: t, breakdown: breakdown(t) };
}
