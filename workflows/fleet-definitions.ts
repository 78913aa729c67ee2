// Messages a running fleet job answers, shared by the workflow and its clients. The
// controls are updates, so the caller learns at once that the job took them (and a bad
// concurrency is refused by the validator without touching the job's history).
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { FLEET_STATUS_QUERY } from '../common/names';
import type { FleetJob } from '../fleet/types';

/** The FleetJob as it stands now. */
export const fleetStatusQuery = defineQuery<FleetJob>(FLEET_STATUS_QUERY);
/** Running moves finish; no new one starts until `resume`. */
export const pauseUpdate = defineUpdate<FleetJob>('pause');
export const resumeUpdate = defineUpdate<FleetJob>('resume');
/** How many moves run at once from now on (1 to 64); the per-node limits still hold. */
export const setConcurrencyUpdate = defineUpdate<FleetJob, [number]>('setConcurrency');
/** Running moves are cancelled (each rolls back unless its owner already flipped); none starts again. */
export const cancelUpdate = defineUpdate<FleetJob>('cancel');
/** Completes once the job has its plan (or could not make one), so a start can report a refusal at once. */
export const plannedUpdate = defineUpdate<FleetJob>('planned');
