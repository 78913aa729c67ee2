// What makes two copies of a shard "the same": equal seq, equal row count, and an
// equal checksum over the logical content (ordered rows, not pages, so it does not
// depend on page layout or free lists), plus SQLite's own structural check.
import { createHash } from 'node:crypto';
import { ErrorType, TasksdError } from '../common/errors';
import { countRows, readState, type ShardDb } from './shard-file';

export interface Fingerprint {
  seq: number;
  rows: number;
  checksum: string;
}

/** Reads seq, row count and content checksum inside one read transaction (one consistent state). */
export function fingerprint(db: ShardDb): Fingerprint {
  return db
    .transaction(() => {
      const { seq } = readState(db);
      const hash = createHash('sha256');
      let rows = 0;
      const separator = Buffer.from([0]);
      for (const row of db.prepare('SELECT id, title, body FROM tasks ORDER BY id').raw().iterate() as Iterable<
        [string, string, Buffer | null]
      >) {
        hash.update(row[0]).update(separator).update(row[1]).update(separator);
        if (row[2]) hash.update(row[2]);
        hash.update(separator);
        rows++;
      }
      return { seq, rows, checksum: `sha256:${hash.digest('hex')}` };
    })
    .deferred();
}

/** SQLite's structural check; throws with SQLite's own words when the file is damaged. */
export function quickCheck(db: ShardDb, what: string): void {
  let problems: string[];
  try {
    problems = (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check);
  } catch (err) {
    problems = [(err as Error).message];
  }
  if (problems.length !== 1 || problems[0] !== 'ok') {
    throw new TasksdError(ErrorType.VerificationFailed, `${what} fails PRAGMA quick_check: ${problems.slice(0, 3).join('; ')}`);
  }
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
