// Turns domain errors into Temporal failures: a TasksdError whose type retrying cannot
// fix becomes a non-retryable ApplicationFailure carrying that type, so the workflow
// fails the job at once with the operator-facing message.
import { ApplicationFailure } from '@temporalio/common';
import { NON_RETRYABLE_ERROR_TYPES, TasksdError } from '../common/errors';

export function toFailure(err: unknown): unknown {
  if (err instanceof TasksdError) {
    return NON_RETRYABLE_ERROR_TYPES.includes(err.type)
      ? ApplicationFailure.nonRetryable(err.message, err.type)
      : ApplicationFailure.retryable(err.message, err.type);
  }
  return err;
}

/** Wraps an activity so its domain errors surface with their types. */
export function withFailures<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw toFailure(err);
    }
  };
}
