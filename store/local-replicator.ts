// The local replication driver: applies each frame synchronously to the owner's
// file, inside one write transaction that first checks this file may accept it.
// That check (live, unlocked, at the epoch the catalog gives its owner) is what keeps a
// writer that resolved the old owner before a move from landing anything in the old
// file after the barrier.
import { ErrorType, TasksdError } from '../common/errors';
import type { Cluster } from './cluster';
import { assertHeldBy, releaseLock, retireFile, unlockAsOwner } from './hand-off-steps';
import type { Applied, Frame, Replicator, TaskInput } from './replicator';
import { adjust } from './content-sum';
import { inWriteTransaction, openShardFile, readState, type ShardDb } from './shard-file';

export class LocalReplicator implements Replicator {
  constructor(private readonly cluster: Cluster) {}

  async propose(frame: Frame): Promise<Applied> {
    switch (frame.op) {
      case 'put':
        return this.write(frame.org, frame.ns, (db, seq) => putTask(db, seq, frame.task));
      case 'delete':
        return this.write(frame.org, frame.ns, (db, seq) => deleteTask(db, seq, frame.id));
      case 'lock':
        return this.lock(frame.org, frame.ns, frame.jobId);
      case 'unlock':
        return frame.handoff
          ? this.handOff(frame.org, frame.ns, frame.jobId, frame.handoff.from, frame.handoff.to)
          : this.unlockInPlace(frame.org, frame.ns, frame.jobId);
    }
  }

  /** Bulk load: many put frames, each with its own seq, applied in one transaction. */
  async putMany(org: string, ns: string, tasks: TaskInput[]): Promise<Applied> {
    let last: Applied = { seq: 0 };
    await this.withOwner(org, ns, (db, epoch) =>
      inWriteTransaction(db, () => {
        for (const task of tasks) last = this.applyIn(db, org, ns, epoch, (seq) => putTask(db, seq, task));
      }),
    );
    return last;
  }

  /**
   * Runs `fn` on the owner's file. A cut-over may retire the file this call resolved
   * (marked moved, then removed) before `fn` got its transaction; that attempt applied
   * nothing, so the call follows the new owner once instead of failing on a dead file.
   */
  private async withOwner<T>(org: string, ns: string, fn: (db: ShardDb, epoch: number) => T): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const resolved = await this.cluster.ownerFile(org, ns);
      try {
        const db = openShardFile(resolved.file);
        try {
          return fn(db, resolved.shard.epoch);
        } finally {
          db.close();
        }
      } catch (err) {
        const retired =
          attempt === 0 && refusedBeforeWriting(err) && (await this.cluster.catalog.shard(org, ns)).epoch !== resolved.shard.epoch;
        if (!retired) throw err;
      }
    }
  }

  private write(org: string, ns: string, apply: (db: ShardDb, seq: number) => void): Promise<Applied> {
    return this.withOwner(org, ns, (db, epoch) => inWriteTransaction(db, () => this.applyIn(db, org, ns, epoch, (seq) => apply(db, seq))));
  }

  /** The write check and seq bump; callers hold the write transaction. */
  private applyIn(db: ShardDb, org: string, ns: string, epoch: number, apply: (seq: number) => void): Applied {
    const state = readState(db);
    if (state.state !== 'live') {
      throw new TasksdError(ErrorType.ShardLocked, `shard ${org}/${ns} moved to ${state.movedTo}; retry to reach the new owner`);
    }
    if (state.lockedBy) {
      throw new TasksdError(ErrorType.ShardLocked, `shard ${org}/${ns} is locked by migration ${state.lockedBy}; retry shortly`);
    }
    if (state.epoch !== epoch) {
      // Fencing: this file was handed over at another epoch than the catalog's owner holds.
      throw new TasksdError(
        ErrorType.ShardLocked,
        `shard ${org}/${ns}: this file is at ownership epoch ${state.epoch} but the catalog's owner is at ${epoch}; retry to reach the owner`,
      );
    }
    const seq = state.seq + 1;
    apply(seq);
    db.prepare('UPDATE shard SET seq = ? WHERE singleton = 1').run(seq);
    return { seq };
  }

  private lock(org: string, ns: string, jobId: string): Promise<Applied> {
    return this.withOwner(org, ns, (db) =>
      inWriteTransaction(db, () => {
        const state = readState(db);
        if (state.lockedBy === jobId && state.lockSeq !== null) return { seq: state.lockSeq };
        if (state.lockedBy) {
          throw new TasksdError(ErrorType.ShardBusy, `shard ${org}/${ns} is locked by migration ${state.lockedBy}`);
        }
        if (state.state !== 'live') throw new TasksdError(ErrorType.ShardMissing, `shard ${org}/${ns} on this node was moved to ${state.movedTo}`);
        const seq = state.seq + 1;
        db.prepare('UPDATE shard SET seq = ?, locked_by = ?, lock_seq = ? WHERE singleton = 1').run(seq, jobId, seq);
        return { seq };
      }),
    );
  }

  /** Rollback path: the owner stays, the job's lock goes. A no-op when the job holds no lock. */
  private unlockInPlace(org: string, ns: string, jobId: string): Promise<Applied> {
    return this.withOwner(org, ns, (db) => inWriteTransaction(db, () => releaseLock(db, jobId)));
  }

  /**
   * Cut-over. Order matters for crash safety: the catalog's owner flip is the commit
   * point; before it the source is still the (locked) owner, after it the source is
   * marked moved, the destination unlocked, and the source file removed. Every step
   * is skipped when already done, so a retry after a crash anywhere finishes the job.
   * The destination is unlocked at the epoch the flip gave it (its fencing token).
   */
  private async handOff(org: string, ns: string, jobId: string, from: string, to: string): Promise<Applied> {
    const { catalog } = this.cluster;
    const destFile = await this.cluster.fileOn(to, org, ns);
    const sourceFile = await this.cluster.fileOn(from, org, ns);
    const shard = await catalog.shard(org, ns);
    let epoch = shard.epoch;
    if (shard.owner !== to) {
      assertHeldBy(destFile, jobId);
      epoch = (await catalog.flipOwner(org, ns, from, to, jobId)) ?? (await this.flippedBefore(org, ns, from, to, jobId));
    }
    const applied = unlockAsOwner(destFile, jobId, epoch);
    await retireFile(sourceFile, to, jobId, { retain: this.cluster.options.retainSource });
    return { seq: applied.seq, at: applied.at };
  }

  /**
   * A flip that found its condition gone: fine when this job's own flip committed
   * already (a retried statement whose first try committed as the connection died),
   * refused otherwise.
   */
  private async flippedBefore(org: string, ns: string, from: string, to: string, jobId: string): Promise<number> {
    const now = await this.cluster.catalog.shard(org, ns);
    if (now.owner === to && now.jobId === jobId) return now.epoch;
    throw new TasksdError(ErrorType.ShardBusy, `shard ${org}/${ns} is no longer owned by ${from} under job ${jobId}`);
  }
}

/**
 * Refusals that come before a write transaction changes anything: the file's own
 * checks (moved, locked), a file already removed, or SQLite noticing at BEGIN that
 * its file was unlinked since the connection opened (SQLITE_IOERR_FSTAT).
 */
function refusedBeforeWriting(err: unknown): boolean {
  if (err instanceof TasksdError) return err.type === ErrorType.ShardLocked || err.type === ErrorType.ShardMissing;
  return (err as { code?: unknown }).code === 'SQLITE_IOERR_FSTAT';
}

function putTask(db: ShardDb, seq: number, task: TaskInput): void {
  const old = db.prepare('SELECT title, body FROM tasks WHERE id = ?').get(task.id) as { title: string; body: Buffer | null } | undefined;
  db.prepare(
    `INSERT INTO tasks (id, title, body, seq) VALUES (?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body, seq = excluded.seq`,
  ).run(task.id, task.title, task.body ?? null, seq);
  db.prepare('INSERT INTO changes (seq, op, task_id) VALUES (?, ?, ?)').run(seq, 'put', task.id);
  let sum = readState(db).contentSum;
  if (old) sum = adjust(sum, -1, task.id, old.title, old.body);
  sum = adjust(sum, 1, task.id, task.title, task.body);
  db.prepare('UPDATE shard SET content_sum = ?, row_count = row_count + ? WHERE singleton = 1').run(sum, old ? 0 : 1);
}

function deleteTask(db: ShardDb, seq: number, id: string): void {
  const old = db.prepare('SELECT title, body FROM tasks WHERE id = ?').get(id) as { title: string; body: Buffer | null } | undefined;
  db.prepare('DELETE FROM tasks WHERE id = ?').run(id);
  db.prepare('INSERT INTO changes (seq, op, task_id) VALUES (?, ?, ?)').run(seq, 'delete', id);
  if (old) {
    const sum = adjust(readState(db).contentSum, -1, id, old.title, old.body);
    db.prepare('UPDATE shard SET content_sum = ?, row_count = row_count - 1 WHERE singleton = 1').run(sum);
  }
}
