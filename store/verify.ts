// What makes two copies of a shard "the same": equal seq, equal row count, and an
// equal checksum over the logical content (ordered rows, not pages, so it does not
// depend on page layout or free lists). The checksum itself is computed off the main
// thread (sqlite-thread-worker.js).
import { ErrorType, TasksdError } from '../common/errors';
import { countRows, readState, type ShardDb } from './shard-file';

export interface Fingerprint {
  seq: number;
  rows: number;
  checksum: string;
}

export function sameContent(what: string, expected: Partial<Fingerprint>, actual: Fingerprint | { seq: number; rows: number }): void {
  const mismatches: string[] = [];
  if (expected.seq !== undefined && expected.seq !== actual.seq) mismatches.push(`seq ${actual.seq} != ${expected.seq}`);
  if (expected.rows !== undefined && expected.rows !== actual.rows) mismatches.push(`rows ${actual.rows} != ${expected.rows}`);
  if (expected.checksum !== undefined && 'checksum' in actual && expected.checksum !== actual.checksum) {
    mismatches.push(`checksum ${actual.checksum} != ${expected.checksum}`);
  }
  if (mismatches.length > 0) {
    throw new TasksdError(ErrorType.VerificationFailed, `${what} does not match the source: ${mismatches.join(', ')}`);
  }
}

export function seqAndRows(db: ShardDb): { seq: number; rows: number } {
  return db.transaction(() => ({ seq: readState(db).seq, rows: countRows(db) })).deferred();
}
