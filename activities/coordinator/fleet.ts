// The fleet job's catalog-side steps. The plan is made here, by an activity, rather than
// by the client before the start: the workflow's input stays a few fields (a start from
// the Temporal CLI plans like any other), the plan is made once, when the job starts,
// and a retry of this step after it committed returns the plan stored first. The moves
// go to the catalog, not into the workflow: a 10,000-shard plan would bloat every
// continue-as-new input and the history, so the job pages through it (readPlan) and
// carries only a cursor.
import { ErrorType, TasksdError } from '../../common/errors';
import type { Job } from '../../common/job';
import { takeInventory } from '../../fleet/inventory';
import { makePlan } from '../../fleet/plan';
import { summarize, type FleetRequest, type PlannedMove, type PlanSummary } from '../../fleet/types';
import { parseFleetRequest } from '../../fleet/validation';
import type { ShardListing } from '../../store/cluster';
import type { Cluster } from '../../store/cluster';
import { checkCluster } from '../cluster-guard';

export interface FleetDeps {
  cluster: Cluster;
  /** Every shard as its owner's agent reports it (sizes come from the agents). */
  listShards?: () => Promise<ShardListing[]>;
  /** A job's final Job, or null while it runs. */
  jobResult?: (jobId: string) => Promise<Job | null>;
}

export interface PlanFleetInput {
  fleetId: string;
  /** The raw request: validated here, since a start from the Temporal CLI bypasses the client. */
  request: unknown;
}

export interface PlannedFleet {
  request: FleetRequest;
  plan: PlanSummary;
}

export function createFleetActivities({ cluster, listShards, jobResult }: FleetDeps) {
  const { catalog } = cluster;
  return {
    async planFleet({ fleetId, request }: PlanFleetInput): Promise<PlannedFleet> {
      const valid = parseFleetRequest(request);
      checkCluster(cluster, fleetId, valid.cluster);
      if (!listShards) throw new Error('this coordinator cannot reach the node agents to size the shards');
      const plan = makePlan(await takeInventory(catalog, listShards), valid);
      const stored = await catalog.savePlan(fleetId, JSON.stringify(summarize(plan)), plan.moves);
      return { request: { ...valid, cluster: catalog.clusterId }, plan: JSON.parse(stored) as PlanSummary };
    },

    async readPlan({ fleetId, offset, limit }: { fleetId: string; offset: number; limit: number }): Promise<PlannedMove[]> {
      return catalog.readPlan(fleetId, offset, limit);
    },

    async dropPlan({ fleetId }: { fleetId: string }): Promise<void> {
      await catalog.dropPlan(fleetId);
    },

    /** How a move this job started earlier ended (a start refused as already started); null while it runs. */
    async jobOutcome({ jobId }: { jobId: string }): Promise<Job | null> {
      if (!jobResult) throw new TasksdError(ErrorType.UnknownJob, `cannot look up job ${jobId}: this coordinator has no Temporal client`);
      return jobResult(jobId);
    },
  };
}
