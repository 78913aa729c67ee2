// Catch-up of a destination copy from its source: every task touched by a frame the
// destination does not have yet (seq > destination seq) is copied in its current
// source form, or deleted. Split in two halves so they can run on two hosts: the
// source agent reads a batch (readChangesSince, plain JSON, bodies in base64) and the
// destination applies it (applyChanges). The source side is read in one snapshot and
// the destination written in one transaction, so a batch applies each frame at most
// once and a crashed apply leaves the destination as it was.
import { ErrorType, TasksdError } from '../common/errors';
import { adjust } from './content-sum';
import { readState, type ShardDb } from './shard-file';

export interface ReplayResult {
  /** Frames applied to the destination by this call. */
  frames: number;
  /** The destination's seq afterwards (the source's seq at the snapshot read). */
  seq: number;
}

export interface ChangeRow {
  seq: number;
  op: string;
  task_id: string;
}

/** A task as it travels in a batch: its body in base64 (JSON has no bytes). */
export interface WireTaskRow {
  id: string;
  title: string;
  body: string | null;
  seq: number;
}

/** What a destination needs to catch up from `since` to `seq`; JSON as it is. */
export interface ChangeBatch {
  /** The destination seq this batch applies on top of. */
  since: number;
  /** The destination seq once applied: the source's seq, or the last change's when `more`. */
  seq: number;
  /** The source at the read: its seq, row count, content checksum and lock holder. */
  source: { seq: number; rows: number; contentSum: string; lockedBy: string | null };
  changes: ChangeRow[];
  /** Each task the changes touched, in its current source form, or null when deleted. */
  rows: Array<{ id: string; row: WireTaskRow | null }>;
  /** True when `limit` cut the batch short: read again from `seq`. */
  more: boolean;
}

interface TaskRow {
  id: string;
  title: string;
  body: Buffer | null;
  seq: number;
}

/**
 * The changes after `since`, read in one snapshot of the source. With `limit`, at most
 * that many changes; the rows are still read in their current form (a later batch
 * rewrites any it touches again), so only the last batch leaves the copy equal to the
 * source — which is what the checksum gate checks.
 */
export function readChangesSince(source: ShardDb, since: number, options: { limit?: number } = {}): ChangeBatch {
  return source
    .transaction(() => {
      const state = readState(source);
      if (state.seq < since) {
        throw new TasksdError(
          ErrorType.VerificationFailed,
          `destination seq ${since} is ahead of the source seq ${state.seq}: the destination is not a copy of this source`,
        );
      }
      const limit = options.limit ?? -1; // SQLite: a negative LIMIT is no limit
      const changes = source
        .prepare('SELECT seq, op, task_id FROM changes WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(since, limit === -1 ? -1 : limit + 1) as ChangeRow[];
      const more = limit !== -1 && changes.length > limit;
      if (more) changes.length = limit;
      const getTask = source.prepare('SELECT id, title, body, seq FROM tasks WHERE id = ?');
      const rows = [...new Set(changes.map((c) => c.task_id))].map((id) => ({ id, row: toWire(getTask.get(id) as TaskRow | undefined) }));
      return {
        since,
        seq: more ? changes[changes.length - 1].seq : state.seq,
        source: { seq: state.seq, rows: state.rows, contentSum: state.contentSum, lockedBy: state.lockedBy },
        changes,
        rows,
        more,
      };
    })
    .deferred();
}

/** Applies a batch read from the source at the destination's seq; a batch already applied is a no-op. */
export function applyChanges(dest: ShardDb, batch: ChangeBatch): ReplayResult {
  return dest
    .transaction(() => {
      const destSeq = readState(dest).seq;
      if (destSeq === batch.seq) return { frames: 0, seq: destSeq };
      if (destSeq !== batch.since) {
        throw new Error(`destination is at seq ${destSeq}, not at ${batch.since} where this batch starts: destination changed during replay`);
      }
      const upsert = dest.prepare(
        `INSERT INTO tasks (id, title, body, seq) VALUES (@id, @title, @body, @seq)
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body, seq = excluded.seq`,
      );
      const remove = dest.prepare('DELETE FROM tasks WHERE id = ?');
      const current = dest.prepare('SELECT title, body FROM tasks WHERE id = ?');
      let { rows, contentSum } = readState(dest);
      for (const { id, row: wire } of batch.rows) {
        const row = fromWire(wire);
        // The checksum moves by exactly what changes in this file, so it stays the sum of its rows.
        const old = current.get(id) as { title: string; body: Buffer | null } | undefined;
        if (old) contentSum = adjust(contentSum, -1, id, old.title, old.body);
        if (row) {
          upsert.run(row);
          contentSum = adjust(contentSum, 1, id, row.title, row.body);
        } else {
          remove.run(id);
        }
        rows += (row ? 1 : 0) - (old ? 1 : 0);
      }
      const logChange = dest.prepare('INSERT OR IGNORE INTO changes (seq, op, task_id) VALUES (@seq, @op, @task_id)');
      for (const change of batch.changes) logChange.run(change);
      dest.prepare('UPDATE shard SET seq = ?, row_count = ?, content_sum = ? WHERE singleton = 1').run(batch.seq, rows, contentSum);
      return { frames: batch.changes.length, seq: batch.seq };
    })
    .immediate();
}

/** Both halves on one host: what the single-process move and its tests use. */
export function replayChanges(source: ShardDb, dest: ShardDb): ReplayResult {
  return applyChanges(dest, readChangesSince(source, readState(dest).seq));
}

function toWire(row: TaskRow | undefined): WireTaskRow | null {
  return row ? { id: row.id, title: row.title, body: row.body === null ? null : row.body.toString('base64'), seq: row.seq } : null;
}

function fromWire(row: WireTaskRow | null): TaskRow | null {
  return row ? { id: row.id, title: row.title, body: row.body === null ? null : Buffer.from(row.body, 'base64'), seq: row.seq } : null;
}
