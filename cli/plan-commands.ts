// `tasksd plan drain <node>` and `tasksd plan rebalance`: the moves a fleet job would
// make now and the load per node before and after, computed by the same planner the
// job uses (fleet/plan.ts) from the catalog and the agents' shard sizes. Changes nothing.
import type { Command } from 'commander';
import { takeInventory } from '../fleet/inventory';
import { makePlan } from '../fleet/plan';
import type { PlanRequest } from '../fleet/types';
import { withAgents } from './context';
import { printPlan } from './fleet-format';
import { addPlanOptions, type PlanFlags } from './fleet-options';
import { id } from './options';
import { printJson } from './output';

export function registerPlanCommands(program: Command): void {
  const plan = program.command('plan').description('print the moves a drain or rebalance would make, and the load per node before and after; changes nothing');
  addPlanOptions(plan.command('drain'))
    .description('every shard of a node to the other nodes (cordoned ones take none)')
    .argument('<node>', 'the node to empty', id('node'))
    .action((node: string, opts: PlanFlags) => show({ kind: 'drain', node, strategy: opts.strategy, exclude: opts.exclude }, opts.json));
  addPlanOptions(plan.command('rebalance'), { threshold: true })
    .description('spread shards until every node is within the threshold of the mean')
    .action((opts: PlanFlags) => show({ kind: 'rebalance', strategy: opts.strategy, threshold: opts.threshold, exclude: opts.exclude }, opts.json));
}

async function show(request: PlanRequest, json?: boolean): Promise<void> {
  const plan = await withAgents(async (agents, cluster) => makePlan(await takeInventory(cluster.catalog, () => agents.listShards()), request));
  if (json) printJson(plan);
  else printPlan(plan);
}
