// A copy that fails verification is not always the copy's fault: a source whose rows no
// longer add up to its own state row (bytes changed on disk behind SQLite's back, which
// quick_check cannot see) hands that damage to every copy. The copy's SHA-256 tells the
// two apart without reading the source again: a copy still byte-identical to the
// source's snapshot carries the source's own damage, so the operator is sent to the
// right file and the right disk.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { ErrorType, TasksdError } from '../common/errors';
import { inspectFile, type Damage } from './sqlite-thread';

export interface SuspectCopy {
  org: string;
  ns: string;
  /** The source's file, as its own node names it. */
  sourceFile: string;
  /** The copy that failed verification. */
  copyFile: string;
  /** The source's SHA-256 of the snapshot the copy was made from. */
  sourceSha256: string;
  destDir: string;
  signal?: AbortSignal;
}

/** The error to report for a copy that failed verification with `failure`. */
export async function blameFailedCopy(failure: TasksdError, copy: SuspectCopy): Promise<TasksdError> {
  let damage: Damage | undefined;
  try {
    if ((await sha256Of(copy.copyFile)) !== copy.sourceSha256) return copyDamaged(failure, copy);
    ({ damage } = await inspectFile(copy.copyFile, copy.signal));
  } catch (err) {
    if (copy.signal?.aborted) throw err;
    return failure; // the copy could not be inspected: its own failure is all that is known
  }
  if (damage) return new TasksdError(ErrorType.SourceCorrupt, sourceDamaged(copy, damage));
  return failure;
}

function copyDamaged(failure: TasksdError, copy: SuspectCopy): TasksdError {
  return new TasksdError(
    ErrorType.VerificationFailed,
    `${failure.message}; the copy no longer matches the source's SHA-256, so it was damaged ` +
      `on its way to or on the destination disk (${copy.destDir}): retry, and if it repeats check that disk`,
  );
}

function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    fs.createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function sourceDamaged(copy: SuspectCopy, damage: Damage): string {
  const source = `source shard ${copy.org}/${copy.ns} at ${copy.sourceFile}`;
  if (damage.kind === 'structure') {
    // The same words as prepare's pre-lock check, which catches most of these earlier.
    return `${source} fails PRAGMA quick_check (${damage.problems.slice(0, 3).join('; ')}); refusing to copy a damaged shard, restore it from a backup first`;
  }
  const { rows, sum, storedRows, storedSum } = damage.scan;
  return (
    `${source} is damaged: its rows add up to ${rows} rows with content checksum ${sum}, but its state row records ` +
    `${storedRows} rows with ${storedSum} (a change on disk that SQLite did not make); the copy inherited the damage, ` +
    'so the destination is not to blame: restore the shard from a backup first (the source stays the owner, unchanged)'
  );
}
