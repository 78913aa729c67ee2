// The coordinator's activities: the steps that touch only the catalog (validate,
// claim, the owner flip, release, and finding what ended jobs left behind). They run on
// the cluster's task queue, in the process that runs the workflows, which holds no
// shard files.
import { Context } from '@temporalio/activity';
import type { Cluster } from '../../store/cluster';
import { inCluster } from '../cluster-guard';
import { withFailures } from '../failures';
import type { JobLookup } from '../reconcile';
import { scanOrphans } from '../reconcile';
import { NO_FAULTS, type FaultPoints } from '../../faults';
import type { HandOffResult, JobRef, OrphanScan, PrepareInput, ReconcileInput, StepChanges } from '../types';
import { prepareMove } from './prepare';
import { ErrorType, TasksdError } from '../../common/errors';
import { createFleetActivities, type FleetDeps } from './fleet';

export interface CoordinatorDeps {
  cluster: Cluster;
  /** Asks Temporal how a job stands; the reconciler needs it. */
  jobs: JobLookup;
  /** Fault points (faults/): NO_FAULTS in production. */
  faults?: FaultPoints;
  /** What fleet jobs need beyond the catalog: shard sizes from the agents, and children's outcomes. */
  listShards?: FleetDeps['listShards'];
  jobResult?: FleetDeps['jobResult'];
}

export function createCoordinatorActivities({ cluster, jobs, faults = NO_FAULTS, listShards, jobResult }: CoordinatorDeps) {
  const fleet = createFleetActivities({ cluster, listShards, jobResult });
  const { catalog } = cluster;
  const step = <R>(name: 'claim' | 'handOff' | 'release' | 'ownerOf', fn: (job: JobRef) => Promise<R>) => withFailures(inCluster(cluster, faults.around(name, fn)));
  return {
    prepare: withFailures(async (input: PrepareInput) => prepareMove(cluster, input)),

    /** The one move of this shard from now on (docs/CONTRACT.md invariant 6); records the route. */
    claim: step('claim', async (job: JobRef): Promise<void> => {
      const shard = await catalog.shard(job.org, job.ns);
      if (shard.owner !== job.from) {
        throw new TasksdError(ErrorType.ShardBusy, `shard ${job.org}/${job.ns} moved to ${shard.owner} while this move was being checked; start it again`);
      }
      await catalog.claim(job.org, job.ns, job.jobId, { from: job.from, to: job.to });
    }),

    /**
     * The commit point: the catalog's compare-and-set passes ownership to the
     * destination and bumps the epoch. A retry after it committed finds the shard
     * already handed to this job's destination and returns the same epoch.
     */
    handOff: step('handOff', async (job: JobRef): Promise<HandOffResult> => {
      const flipped = await catalog.flipOwner(job.org, job.ns, job.from, job.to, job.jobId);
      if (flipped !== null) return { epoch: flipped };
      const now = await catalog.shard(job.org, job.ns);
      if (now.owner === job.to && (now.jobId === job.jobId || now.jobId === null)) return { epoch: now.epoch };
      throw new TasksdError(ErrorType.ShardBusy, `shard ${job.org}/${job.ns} is no longer owned by ${job.from} under job ${job.jobId}; refusing to hand it off`);
    }),

    release: step('release', async (job: JobRef): Promise<StepChanges> => {
      const held = (await catalog.findShard(job.org, job.ns))?.jobId === job.jobId;
      await catalog.release(job.org, job.ns, job.jobId);
      return { changes: held ? [`released the claim of job ${job.jobId}`] : [] };
    }),

    ownerOf: step('ownerOf', async (job: JobRef) => {
      const shard = await catalog.shard(job.org, job.ns);
      return { owner: shard.owner, claimedBy: shard.jobId };
    }),

    /**
     * The task queue of the worker running it. Run as a local activity, that is the
     * queue of the workflow it runs for, recorded in its history so replays agree
     * (workflows/route.ts: which catalog steps may run in place).
     */
    workflowQueue: async (): Promise<string> => Context.current().info.taskQueue,

    scanOrphans: withFailures(async (input: ReconcileInput): Promise<OrphanScan> => scanOrphans(cluster, jobs, input)),

    planFleet: withFailures(fleet.planFleet),
    readPlan: withFailures(fleet.readPlan),
    dropPlan: withFailures(fleet.dropPlan),
    jobOutcome: withFailures(fleet.jobOutcome),
  };
}

export type CoordinatorActivities = ReturnType<typeof createCoordinatorActivities>;
