// How a failure becomes an exit status and one line on stderr. Scripts branch on
// the status: 75 (EX_TEMPFAIL) means "the shard is locked, retry shortly"; 69
// (EX_UNAVAILABLE) means "no worker polls the task queue" or "the node's agent does not
// answer": nothing will run this until one does.
import { CommanderError } from 'commander';
import { ErrorType, TasksdError } from '../common/errors';
import { NoWorkerError } from '../temporal/no-worker-error';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_NO_WORKER = 69;
export const EXIT_RETRY = 75;

/** A CLI-level failure with its own exit status (bad flags, a missing task, a failed job). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (err instanceof NoWorkerError) return EXIT_NO_WORKER;
  if (err instanceof TasksdError) {
    if (err.type === ErrorType.ShardLocked) return EXIT_RETRY;
    if (err.type === ErrorType.NodeUnreachable) return EXIT_NO_WORKER;
    if (err.type === ErrorType.InvalidInput) return EXIT_USAGE;
  }
  return EXIT_FAILURE;
}

/** The operator-facing message on one line, free of terminal controls (it may echo user input). */
export function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message
    .replace(/^error: /, '') // commander's own prefix
    .replace(/\s*\n\s*/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
    .trim();
}
