// The shapes of fleet jobs (drain, rebalance): what starts one, its plan, and the
// FleetJob it reports (docs/CONTRACT.md "Fleet jobs"). Pure types and constants, free
// of Node imports: the workflow bundle imports this file.
import type { PlannedMove } from '../catalog/catalog';
import type { MigrationMode } from '../common/job';

export type { PlannedMove };

export const FLEET_KINDS = ['drain', 'rebalance'] as const;
export type FleetKind = (typeof FLEET_KINDS)[number];

/** by-size balances bytes, by-count balances the number of shards. */
export const STRATEGIES = ['by-size', 'by-count'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const FLEET_DEFAULTS = {
  strategy: 'by-size' as Strategy,
  threshold: 0.1,
  concurrency: 4,
  maxIncoming: 1,
  maxOutgoing: 1,
  movesPerRun: 500,
};
export const MAX_CONCURRENCY = 64;

/** What a plan is made from: what to empty or balance, and what to leave alone. */
export interface PlanRequest {
  kind: FleetKind;
  /** drain: the node to empty. */
  node?: string;
  strategy?: Strategy;
  /** rebalance: how far (a fraction of the mean) a node's load may be from the mean. */
  threshold?: number;
  /** Shards (`org/ns`) that stay where they are. */
  exclude?: string[];
}

/** What starts a fleet job: the `fleetMove` workflow's input. */
export interface FleetRequest extends PlanRequest {
  /** Moves running at once, in all. */
  concurrency?: number;
  /** Moves running at once into any one node. */
  maxIncoming?: number;
  /** Moves running at once out of any one node. */
  maxOutgoing?: number;
  /** Each move's copy cap, bytes per second. */
  maxBytesPerSecond?: number;
  mode?: MigrationMode;
  /** The cluster the job is for; clients fill it in. */
  cluster?: string;
  /** Moves started per workflow run before it continues as new (keeps each run's history short). */
  movesPerRun?: number;
}

export interface NodeLoad {
  shards: number;
  bytes: number;
}

export interface LoadRow {
  node: string;
  cordoned: boolean;
  before: NodeLoad;
  after: NodeLoad;
}

/** A plan: the moves, the load per node before and after, and whether it reaches its goal. */
export interface Plan {
  kind: FleetKind;
  node?: string;
  strategy: Strategy;
  threshold?: number;
  moves: PlannedMove[];
  /** Bytes the moves carry. */
  bytes: number;
  load: LoadRow[];
  /** drain: the node ends empty; rebalance: every node ends within the threshold. */
  reached: boolean;
  /** When not reached: why. */
  unreached?: string;
  /** What the plan leaves alone, and why (excluded, claimed, unreadable, cordoned). */
  notes: string[];
}

/** A plan without its moves: what a fleet job carries (the moves stay in the catalog, paged). */
export type PlanSummary = Omit<Plan, 'moves'> & { moveCount: number };

export function summarize(plan: Plan): PlanSummary {
  const { moves, ...rest } = plan;
  return { ...rest, moveCount: moves.length };
}

export const FLEET_STATUSES = ['planning', 'running', 'paused', 'cancelling', 'finished', 'cancelled', 'failed'] as const;
export type FleetStatus = (typeof FLEET_STATUSES)[number];

export function isFleetOver(status: FleetStatus): boolean {
  return status === 'finished' || status === 'cancelled' || status === 'failed';
}

/** A move running now: its child job. */
export interface RunningMove extends PlannedMove {
  jobId: string;
  startedAt: string;
  attempt: number;
}

/** A move that did not happen, and why. */
export interface MoveOutcome extends PlannedMove {
  jobId?: string;
  reason: string;
  errorType?: string;
  attempts: number;
}

/** The fleet job as it stands: the `fleetStatus` query and the workflow's result. */
export interface FleetJob {
  id: string;
  kind: FleetKind;
  node?: string;
  cluster?: string;
  status: FleetStatus;
  /** Why the job could not run at all (a bad request, no destination). */
  error?: string;
  errorType?: string;
  concurrency: number;
  maxIncoming: number;
  maxOutgoing: number;
  mode: MigrationMode;
  maxBytesPerSecond?: number;
  plan?: PlanSummary;
  moved: { moves: number; bytes: number };
  running: RunningMove[];
  skipped: MoveOutcome[];
  /** Failed for good (after their retry, or when the job was cancelled). */
  failed: MoveOutcome[];
  /** Failed once, to be retried at the end. */
  toRetry: MoveOutcome[];
  /** Planned moves not started yet. */
  remaining: number;
  startedAt: string;
  finishedAt?: string;
}
