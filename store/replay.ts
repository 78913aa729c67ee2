// Catch-up of a destination copy from its source: every task touched by a frame the
// destination does not have yet (seq > destination seq) is copied in its current
// source form, or deleted. The source side is read in one snapshot and the
// destination written in one transaction, so a replay applies each frame at most
// once and a crashed replay leaves the destination as it was.
import { ErrorType, TasksdError } from '../common/errors';
import { adjust } from './content-sum';
import { readState, type ShardDb } from './shard-file';

export interface ReplayResult {
  /** Frames applied to the destination by this call. */
  frames: number;
  /** The destination's seq afterwards (the source's seq at the snapshot read). */
  seq: number;
}

interface ChangeRow {
  seq: number;
  op: string;
  task_id: string;
}

interface TaskRow {
  id: string;
  title: string;
  body: Buffer | null;
  seq: number;
}

export function replayChanges(source: ShardDb, dest: ShardDb): ReplayResult {
  const destSeq = readState(dest).seq;
  const snapshot = source
    .transaction(() => {
      const sourceSeq = readState(source).seq;
      const changes = source.prepare('SELECT seq, op, task_id FROM changes WHERE seq > ? ORDER BY seq').all(destSeq) as ChangeRow[];
      const touched = [...new Set(changes.map((c) => c.task_id))];
      const getTask = source.prepare('SELECT id, title, body, seq FROM tasks WHERE id = ?');
      const rows = touched.map((id) => ({ id, row: getTask.get(id) as TaskRow | undefined }));
      return { sourceSeq, changes, rows };
    })
    .deferred();

  if (snapshot.sourceSeq < destSeq) {
    throw new TasksdError(
      ErrorType.VerificationFailed,
      `destination seq ${destSeq} is ahead of the source seq ${snapshot.sourceSeq}: the destination is not a copy of this source`,
    );
  }
  if (snapshot.sourceSeq === destSeq) return { frames: 0, seq: destSeq };

  dest
    .transaction(() => {
      if (readState(dest).seq !== destSeq) throw new Error('destination changed during replay');
      const upsert = dest.prepare(
        `INSERT INTO tasks (id, title, body, seq) VALUES (@id, @title, @body, @seq)
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body, seq = excluded.seq`,
      );
      const remove = dest.prepare('DELETE FROM tasks WHERE id = ?');
      const current = dest.prepare('SELECT title, body FROM tasks WHERE id = ?');
      let { rows, contentSum } = readState(dest);
      for (const { id, row } of snapshot.rows) {
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
      for (const change of snapshot.changes) logChange.run(change);
      dest
        .prepare('UPDATE shard SET seq = ?, row_count = ?, content_sum = ? WHERE singleton = 1')
        .run(snapshot.sourceSeq, rows, contentSum);
    })
    .immediate();
  return { frames: snapshot.changes.length, seq: snapshot.sourceSeq };
}
