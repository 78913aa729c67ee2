// Writing and reading tasks, as an application would: the catalog names the shard's
// owner and the command talks to that node's agent, where every write is a frame
// through the replicator, so a locked shard refuses it (exit 75, retry).
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import type { TaskInput } from '../store/replicator';
import type { ClusterClient } from '../transport/cluster-client';
import { withAgents } from './context';
import { ErrorType, TasksdError } from '../common/errors';
import { CliError } from './errors';
import { addShard, id, integer, type ShardFlags } from './options';
import { printFields, printJson, printLine } from './output';

const LOAD_BATCH = 1000;

export function registerTaskCommands(program: Command): void {
  addShard(program.command('put'))
    .description('write a task (exit 75 while the shard is locked by a migration)')
    .requiredOption('--id <id>', 'task id', id('task id'))
    .requiredOption('--title <title>', 'task title')
    .action(async (opts: ShardFlags & { id: string; title: string }) => {
      const task = { id: opts.id, title: opts.title };
      const { seq } = await withAgents((agents) => agents.put(opts.org, opts.namespace, task));
      if (opts.json) printJson({ ...task, seq });
      else printLine(`put ${task.id} in ${opts.org}/${opts.namespace} at seq ${seq}`);
    });

  addShard(program.command('get'))
    .description('read a task from the shard owner')
    .requiredOption('--id <id>', 'task id', id('task id'))
    .action(async (opts: ShardFlags & { id: string }) => {
      const task = await withAgents((agents) => agents.get(opts.org, opts.namespace, opts.id));
      if (!task) throw new CliError(`task ${opts.id} not found in shard ${opts.org}/${opts.namespace}`);
      const shown = { id: task.id, title: task.title, seq: task.seq };
      if (opts.json) printJson(shown);
      else printFields([['id', shown.id], ['title', shown.title], ['seq', shown.seq]]);
    });

  addShard(program.command('load'))
    .description('append generated rows (row-<n>) to a shard, for trying migrations')
    .requiredOption('--rows <n>', 'rows to add', integer('--rows', 1))
    .option('--row-bytes <n>', 'random body bytes per row', integer('--row-bytes', 0), 0)
    .action(async (opts: ShardFlags & { rows: number; rowBytes: number }) => {
      const seq = await withAgents((agents) => load(agents, opts.org, opts.namespace, opts.rows, opts.rowBytes));
      const result = { org: opts.org, ns: opts.namespace, rows: opts.rows, seq };
      if (opts.json) printJson(result);
      else printLine(`added ${result.rows} rows to ${result.org}/${result.ns}, now at seq ${seq}`);
    });
}

/** Numbers new rows after the existing ones, so repeated loads add rather than overwrite. */
async function load(agents: ClusterClient, org: string, ns: string, rows: number, rowBytes: number): Promise<number> {
  const current = (await agents.listShards()).find((s) => s.org === org && s.ns === ns);
  if (!current) throw new TasksdError(ErrorType.UnknownShard, `unknown shard ${org}/${ns}: create it with "tasksd shard create --org ${org} --namespace ${ns} --node <node>"`);
  if ('error' in current) throw new TasksdError(ErrorType.ShardMissing, current.error);
  let next = current.rows;
  let seq = 0;
  for (let left = rows; left > 0; ) {
    const batch: TaskInput[] = [];
    for (; batch.length < LOAD_BATCH && left > 0; left--, next++) {
      // Random bodies: incompressible, so a copy's size is honest.
      batch.push({ id: `row-${next}`, title: `row ${next}`, body: rowBytes > 0 ? randomBytes(rowBytes) : null });
    }
    seq = (await agents.load(org, ns, batch)).seq;
  }
  return seq;
}
