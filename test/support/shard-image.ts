// "The source is unchanged", made exact for one shard file: its state row, its stored
// and recomputed fingerprints, and digests of every row and of the change log, read in
// one transaction. Two images of the same shard compare with deepEqual.
import { createHash } from 'node:crypto';
import { recomputeContentSum } from '../../store/content-sum';
import { openShardFile, readState, type ShardState } from '../../store/shard-file';
import { storedFingerprint, type Fingerprint } from '../../store/verify';

export interface ShardImage {
  state: ShardState;
  fingerprint: Fingerprint;
  recomputed: { sum: string; rows: number };
  tasks: string;
  changes: string;
}

export function imageOf(file: string): ShardImage {
  const db = openShardFile(file, { readonly: true });
  try {
    const digest = (sql: string) => {
      const hash = createHash('sha256');
      for (const row of db.prepare(sql).raw().iterate()) hash.update(JSON.stringify(row, (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v)));
      return hash.digest('hex');
    };
    return db.transaction(() => ({
      state: readState(db),
      fingerprint: storedFingerprint(db),
      recomputed: recomputeContentSum(db),
      tasks: digest('SELECT id, title, body, seq FROM tasks ORDER BY id'),
      changes: digest('SELECT seq, op, task_id FROM changes ORDER BY seq'),
    }))();
  } finally {
    db.close();
  }
}
