// Commands over the catalog: nodes and shards.
import type { Command } from 'commander';
import type { ShardListing } from '../store/cluster';
import { withAgents, withCluster } from './context';
import { registerNodeServe } from './node-serve';
import { addShard, id, type JsonFlag, type ShardFlags } from './options';
import { formatBytes, printJson, printLine, printTable } from './output';

export function registerClusterCommands(program: Command): void {
  const node = program.command('node').description('manage nodes');
  node.command('add')
    .description('add a node (a directory that holds shard files)')
    .argument('<id>', 'node id', id('node'))
    .option('--dir <path>', 'directory for its shard files (default: <data root>/nodes/<id>)')
    .action(async (nodeId: string, opts: JsonFlag & { dir?: string }) => {
      const added = await withCluster((cluster) => cluster.addNode(nodeId, opts.dir));
      if (opts.json) printJson(added);
      else printLine(`added node ${added.id} at ${added.dir}`);
    });

  registerNodeServe(node);

  for (const [name, cordoned] of [['cordon', true], ['uncordon', false]] as const) {
    node.command(name)
      .description(cordoned ? 'take no new shards on this node: planners never target it and moves to it are refused' : 'let the node take new shards again')
      .argument('<id>', 'node id', id('node'))
      .action(async (nodeId: string, opts: JsonFlag) => {
        const changed = await withCluster((cluster) => cluster.catalog.setCordoned(nodeId, cordoned), { mustExist: true });
        if (opts.json) printJson(changed);
        else printLine(cordoned ? `node ${nodeId} is cordoned: it takes no new shards (its own stay until drained)` : `node ${nodeId} takes new shards again`);
      });
  }

  program.command('nodes')
    .description('list nodes')
    .action(async (opts: JsonFlag) => {
      const nodes = await withCluster((cluster) => cluster.catalog.listNodes());
      if (opts.json) return printJson(nodes);
      printTable(
        ['node', 'kind', 'dir', 'agent', 'cordoned'],
        nodes.map((n) => [n.id, n.kind, n.dir, n.url ?? '- (start npm start)', n.cordoned ? 'yes' : '-']),
        'no nodes yet: add one with "tasksd node add <id>"',
      );
    });

  const shard = program.command('shard').description('manage shards');
  addShard(shard.command('create'))
    .description('create an empty shard on a node')
    .requiredOption('--node <node>', 'node that will own it', id('node'))
    .action(async (opts: ShardFlags & { node: string }) => {
      const created = await withAgents((agents) => agents.createShard(opts.org, opts.namespace, opts.node));
      const shown = { org: created.org, ns: created.ns, owner: created.node, lockedBy: null, claimedBy: null, seq: created.seq, bytes: created.bytes, rows: created.rows };
      if (opts.json) printJson(shown);
      else printLine(`created shard ${shown.org}/${shown.ns} on ${shown.owner}`);
    });

  program.command('shards')
    .description('list shards: owner, claimed-by, locked-by, seq, size, rows (or why its file cannot be read)')
    .action(async (opts: JsonFlag) => {
      const shards = await withAgents((agents) => agents.listShards());
      if (opts.json) return printJson(shards);
      // The error column appears only when some shard's file cannot be read.
      const withErrors = shards.some((s) => 'error' in s);
      printTable(
        ['shard', 'owner', 'claimed by', 'locked by', 'seq', 'size', 'rows', ...(withErrors ? ['error'] : [])],
        shards.map((s) => shardRow(s, withErrors)),
        'no shards yet: create one with "tasksd shard create"',
      );
    });
}

function shardRow(s: ShardListing, withErrors: boolean): Array<string | number> {
  const head = [`${s.org}/${s.ns}`, s.owner, s.claimedBy ?? '-'];
  if ('error' in s) return [...head, '?', '?', s.bytes === null ? '-' : formatBytes(s.bytes), '?', s.error];
  return [...head, s.lockedBy ?? '-', s.seq, formatBytes(s.bytes), s.rows, ...(withErrors ? ['-'] : [])];
}
