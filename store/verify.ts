// What makes two copies of a shard "the same": equal seq, equal row count and an
// equal logical content checksum (store/content-sum.js: independent of row order and
// page layout, kept current by every write). Full scans that prove a file's rows
// match its stored checksum run off the main thread (sqlite-thread.ts).
import { ErrorType, TasksdError } from '../common/errors';
import { readState, type ShardDb } from './shard-file';

export interface Fingerprint {
  seq: number;
  rows: number;
  checksum: string;
}

/** The stored fingerprint: O(1), read in one transaction. */
export function storedFingerprint(db: ShardDb): Fingerprint {
  const { seq, rows, contentSum } = readState(db);
  return { seq, rows, checksum: `sum128:${contentSum}` };
}

export function sameContent(what: string, expected: Partial<Fingerprint>, actual: Partial<Fingerprint>): void {
  const mismatches: string[] = [];
  if (expected.seq !== undefined && expected.seq !== actual.seq) mismatches.push(`seq ${actual.seq} != ${expected.seq}`);
  if (expected.rows !== undefined && expected.rows !== actual.rows) mismatches.push(`rows ${actual.rows} != ${expected.rows}`);
  if (expected.checksum !== undefined && expected.checksum !== actual.checksum) {
    mismatches.push(`content checksum ${actual.checksum} != ${expected.checksum}`);
  }
  if (mismatches.length > 0) {
    throw new TasksdError(ErrorType.VerificationFailed, `${what} does not match the source: ${mismatches.join(', ')}`);
  }
}
