// The one entry to planning, for `tasksd plan`, the client and the fleet job's planning
// activity alike: a drain or a rebalance over an inventory, nothing changed.
import { planDrain } from './drain';
import type { Inventory } from './inventory';
import { planRebalance } from './rebalance';
import { FLEET_DEFAULTS, type Plan, type PlanRequest } from './types';

export function makePlan(inventory: Inventory, request: PlanRequest): Plan {
  const strategy = request.strategy ?? FLEET_DEFAULTS.strategy;
  if (request.kind === 'drain') return planDrain(inventory, request.node!, strategy, request.exclude);
  return planRebalance(inventory, strategy, request.threshold ?? FLEET_DEFAULTS.threshold, request.exclude);
}
