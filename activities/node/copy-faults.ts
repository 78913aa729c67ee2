// What can go wrong with a copy on the destination's disk, in the operator's words,
// and the test hooks that make it go wrong on purpose (switched on only through
// ActivityTestHooks).
import * as fs from 'node:fs';
import { ErrorType, TasksdError } from '../../common/errors';
import { openShardFile } from '../../store/shard-file';
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

/** Test hook: fails the copy, once it has written something, with this errno code (e.g. ENOSPC). */
export function failWritesWith(code: string) {
  return (bytesCopied: number) => {
    if (bytesCopied > 0) throw Object.assign(new Error(`${code}: injected by TASKSD_TEST_FAIL_COPY`), { code });
  };
}

/**
 * Test hook: flips a byte inside a row's title in the copied file, the way a bad disk
 * would, leaving the file structurally valid so only the content gate can tell. Every
 * occurrence is flipped: a stale copy of the row in free space would otherwise take
 * the hit and leave the live row intact.
 */
export function flipOneByte(file: string): void {
  const probe = openShardFile(file, { readonly: true });
  const row = probe.prepare('SELECT title FROM tasks ORDER BY id LIMIT 1').get() as { title: string } | undefined;
  probe.close();
  if (!row) return;
  const bytes = fs.readFileSync(file);
  const needle = Buffer.from(row.title);
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + needle.length)) {
    bytes[at] ^= 0x20; // flips letter case: still valid text
  }
  fs.writeFileSync(file, bytes);
}
