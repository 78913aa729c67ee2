// The `tasksd` command tree. Commander reports its own errors by throwing (not by
// exiting), so main.ts turns every failure into one stderr line and an exit status.
import { Command } from 'commander';
import { version } from '../package.json';
import { registerClusterCommands } from './cluster-commands';
import { registerJobCommands } from './job-commands';
import { registerCatalogCommands } from './catalog-command';
import { registerFleetCommands } from './fleet-commands';
import { registerPlanCommands } from './plan-commands';
import { registerRepairCommand } from './repair-command';
import { registerTaskCommands } from './task-commands';

export function buildProgram(): Command {
  const program = new Command('tasksd')
    .description(
      'Operate a cluster of SQLite tenant shards (data root: TASKSD_DATA, default ./data) and migrate shards between nodes ' +
        'through Temporal (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TASKSD_TASK_QUEUE).',
    )
    .version(version)
    .exitOverride()
    .configureOutput({
      outputError: () => {}, // main.ts prints the one line
      // Commander answers a missing subcommand with the whole help on stderr; one line pointing to it is enough.
      writeErr: (text) => {
        const usage = /^Usage: (.+?) \[options\]/m.exec(text)?.[1] ?? 'tasksd';
        process.stderr.write(`tasksd: missing command; see "${usage} --help"\n`);
      },
    })
    .showSuggestionAfterError(true);
  registerClusterCommands(program);
  registerTaskCommands(program);
  registerJobCommands(program);
  registerPlanCommands(program);
  registerFleetCommands(program);
  registerRepairCommand(program);
  registerCatalogCommands(program);
  for (const command of leaves(program)) command.option('--json', 'print machine-readable JSON');
  return program;
}

function leaves(command: Command): Command[] {
  return command.commands.length === 0 ? [command] : command.commands.flatMap(leaves);
}
