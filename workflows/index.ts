// The worker's workflow bundle entry: every workflow type this task queue serves.
export { migrateShard } from './migrate-shard';
export { reconcileClaims, repairShards } from './reconcile';
export { fleetMove } from './fleet';
