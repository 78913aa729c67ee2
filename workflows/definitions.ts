// Messages a running migration answers, shared by the workflow and its clients.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Job } from '../common/job';
import { STATUS_QUERY } from '../common/names';

/** The Job as it stands now (docs/CONTRACT.md: the `status` query). */
export const statusQuery = defineQuery<Job>(STATUS_QUERY);

/**
 * Completes once the job has claimed its shard (or was refused), so a client's start
 * can report a concurrent migration at once instead of after the fact.
 */
export const claimedUpdate = defineUpdate<Job>('claimed');
