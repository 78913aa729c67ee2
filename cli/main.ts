// Entry point of `tasksd` (bin/tasksd.js loads it): runs one command and sets the
// exit status — 0 ok, 1 failed, 2 bad usage or input, 69 no worker, 75 shard locked (retry).
import { CommanderError } from 'commander';
import { buildProgram } from './program';
import { describe, exitCodeFor } from './errors';

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    // Help arrives as an "error" with status 0; a missing subcommand has printed its line already.
    if (err instanceof CommanderError && (err.exitCode === 0 || err.code === 'commander.help')) return exitCodeFor(err);
    report(err);
    return exitCodeFor(err);
  }
}

function report(err: unknown): void {
  process.stderr.write(`tasksd: ${describe(err)}\n`);
  if (process.env.TASKSD_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
}

// A failure outside the command's own flow (a library's timer, say) still ends as one
// line, never as Node's stack trace.
function crashed(err: unknown): void {
  report(err);
  process.exit(exitCodeFor(err));
}
process.on('uncaughtException', crashed);
process.on('unhandledRejection', crashed);

// exitCode rather than exit(): stdout (a long JSON array, say) is flushed before the process ends.
main(process.argv).then((code) => (process.exitCode = code));
