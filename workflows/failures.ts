// What an operator reads of a failure inside a workflow: the innermost cause's message
// and, when it is one of ours, its error type. Shared by migrateShard and fleetMove.
import { ApplicationFailure } from '@temporalio/workflow';

function innermost(err: unknown): { message?: string; type?: string } | undefined {
  let current = err as { message?: string; type?: string; cause?: unknown } | undefined;
  while (current?.cause) current = current.cause as typeof current;
  return current;
}

/** The operator-facing reason: the innermost failure's message. */
export function describe(err: unknown): string {
  return innermost(err)?.message ?? String(err);
}

/** The innermost failure's error type (ErrorType), when it carries one. */
export function failureType(err: unknown): string | undefined {
  const inner = innermost(err);
  return inner instanceof ApplicationFailure ? (inner.type ?? undefined) : undefined;
}
