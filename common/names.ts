// Names that operators, scripts and the Temporal CLI rely on (SPEC): they never change.
export const WORKFLOW_TYPE = 'migrateShard';
export const DEFAULT_TASK_QUEUE = 'shard-migration';
export const STATUS_QUERY = 'status';
