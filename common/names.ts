// Names that operators, scripts and the Temporal CLI rely on (docs/CONTRACT.md): they never change.
export const WORKFLOW_TYPE = 'migrateShard';
export const DEFAULT_TASK_QUEUE = 'shard-migration';
export const STATUS_QUERY = 'status';
export const RECONCILE_WORKFLOW_TYPE = 'reconcileClaims';
export const REPAIR_WORKFLOW_TYPE = 'repairShards';
/** A drain or a rebalance: one parent workflow running its plan as migrateShard children. */
export const FLEET_WORKFLOW_TYPE = 'fleetMove';
export const FLEET_STATUS_QUERY = 'fleetStatus';

/**
 * The task queue of one cluster's activities (and of the jobs its clients start):
 * `<task queue>@<cluster id>`. Workers of two clusters that share a task queue by
 * mistake then never take each other's work.
 */
export function clusterTaskQueue(taskQueue: string, clusterId: string): string {
  return `${sharedTaskQueue(taskQueue)}@${clusterId}`;
}

/** The task queue every cluster's workers share, given either it or a cluster's own queue. */
export function sharedTaskQueue(taskQueue: string): string {
  return taskQueue.replace(/@c-[0-9a-f]{12}$/, '');
}

/** The one long-running reconciler per cluster. */
export function reconcilerWorkflowId(clusterId: string): string {
  return `tasksd-reconcile-${clusterId}`;
}

/**
 * The task queue of one node's agent: `<task queue>@<cluster id>/<node id>`. The steps
 * that touch a node's files run there, in the agent that owns them.
 */
export function nodeTaskQueue(taskQueue: string, clusterId: string, nodeId: string): string {
  return `${clusterTaskQueue(taskQueue, clusterId)}/${nodeId}`;
}
