// What can go wrong with a copy on the destination's disk, in the operator's words.
// (The faults that make it go wrong on purpose live in faults/.)
import { ErrorType, TasksdError } from '../../common/errors';
import type { JobRef } from '../types';

/** A full or read-only disk will not heal by retrying the same copy: fail the job with the reason. */
export function asDiskError(err: unknown, job: JobRef): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new TasksdError(ErrorType.InsufficientSpace, `node ${job.to} ran out of space while copying ${job.org}/${job.ns}: ${(err as Error).message}`);
  }
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return new TasksdError(ErrorType.DestinationUnwritable, `node ${job.to} refused the copy of ${job.org}/${job.ns}: ${(err as Error).message}`);
  }
  return err;
}
