// The activities of a move, in two sets made from injected dependencies: the
// coordinator's (catalog only, on the cluster's queue) and a node agent's (its own
// files, on its own queue). Workers wire the real cluster, agents and Temporal client;
// tests wire ones under a temp directory. No module-level state.
export { createCoordinatorActivities, type CoordinatorActivities, type CoordinatorDeps } from './coordinator';
export { createNodeActivities, type NodeActivities, type NodeDeps } from './node';
export type { JobLookup } from './reconcile';
export type * from './types';
