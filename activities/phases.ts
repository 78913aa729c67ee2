// The migration's phases as activities. Each is idempotent under retries and
// re-delivery, keyed by the job id: re-running a finished phase changes nothing.
import { Context } from '@temporalio/activity';
import * as fs from 'node:fs';
import { ErrorType, TasksdError } from '../common/errors';
import type { Cluster } from '../store/cluster';
import type { Replicator } from '../store/replicator';
import { replayChanges } from '../store/replay';
import { copyShard } from '../store/shard-copy';
import { openShardFile, readState, type ShardDb } from '../store/shard-file';
import { sameContent, storedFingerprint } from '../store/verify';
import { heartbeatWhile } from './heartbeat';
import type { ActivityTestHooks } from './test-hooks';
import type { CatchUpResult, CopyHeartbeat, CopyResult, JobRef, LockResult, ReplayResult, UnlockResult } from './types';

export function createPhases(cluster: Cluster, replicator: Replicator, hooks: ActivityTestHooks = {}) {
  const sourceFile = (job: JobRef) => cluster.fileOn(job.from, job.org, job.ns);
  const destFile = (job: JobRef) => cluster.fileOn(job.to, job.org, job.ns);

  async function withDest<T>(job: JobRef, fn: (dest: ShardDb) => T): Promise<T> {
    const dest = openShardFile(await destFile(job));
    try {
      return fn(dest);
    } finally {
      dest.close();
    }
  }
  const destSeq = (job: JobRef) => withDest(job, (dest) => readState(dest).seq);

  async function withBoth<T>(job: JobRef, fn: (source: ShardDb, dest: ShardDb) => T): Promise<T> {
    const [sourcePath, destPath] = await Promise.all([sourceFile(job), destFile(job)]);
    const source = openShardFile(sourcePath);
    try {
      const dest = openShardFile(destPath);
      try {
        return fn(source, dest);
      } finally {
        dest.close();
      }
    } finally {
      source.close();
    }
  }

  /**
   * True once this job's hand-off committed (the owner flipped). A cut-over run as local
   * activities re-runs lock and replay after a crash during unlock: they must see that
   * the barrier is behind them, not lock the new owner.
   */
  const handedOver = async (job: JobRef) => (await cluster.catalog.shard(job.org, job.ns)).owner === job.to;

  return {
    /** Proposes the barrier; the shard refuses writes once it is accepted. */
    async lock(job: JobRef): Promise<LockResult> {
      if (await handedOver(job)) return { barrierSeq: await destSeq(job), lockedAt: Date.now() };
      const { seq } = await replicator.propose({ op: 'lock', org: job.org, ns: job.ns, jobId: job.jobId });
      return { barrierSeq: seq, lockedAt: Date.now() };
    },

    /** Copies the shard to the destination node, durably and verified, heartbeating progress. */
    async checkpointAndCopy(job: JobRef): Promise<CopyResult> {
      const ctx = Context.current();
      const previous = ctx.info.heartbeatDetails as CopyHeartbeat | undefined;
      // Progress carries over to a retry; what the last attempt was waiting for does not.
      let last: CopyHeartbeat | undefined = previous && { bytesCopied: previous.bytesCopied, totalBytes: previous.totalBytes };
      const onWait = (waiting: string | undefined) => {
        if (waiting && !last?.waiting) ctx.log.warn(`copy of ${job.org}/${job.ns} waiting: ${waiting}`, { jobId: job.jobId });
        const { bytesCopied = 0, totalBytes = 0 } = last ?? {};
        ctx.heartbeat((last = waiting ? { bytesCopied, totalBytes, waiting } : { bytesCopied, totalBytes }) satisfies CopyHeartbeat);
      };
      try {
        const copying = copyShard({
          org: job.org,
          ns: job.ns,
          jobId: job.jobId,
          sourceFile: await sourceFile(job),
          destDir: (await cluster.catalog.node(job.to)).dir,
          mode: job.mode,
          copy: {
            resumeFrom: previous?.bytesCopied ?? 0,
            onProgress: (progress) => ctx.heartbeat((last = progress) satisfies CopyHeartbeat),
            signal: ctx.cancellationSignal,
            onStart: (offset) => {
              if (offset > 0) ctx.log.info(`resuming copy of ${job.org}/${job.ns} at byte ${offset}`, { jobId: job.jobId });
            },
            bytesPerSecond: hooks.copyBytesPerSecond,
            beforeWrite: hooks.failCopyWith ? failWrites(hooks.failCopyWith) : undefined,
          },
          onWait,
          afterCopy: hooks.corruptCopy ? flipOneByte : undefined,
        });
        return await heartbeatWhile(copying, () => last); // verification and fsync report no progress of their own
      } catch (err) {
        throw asDiskError(err, job);
      }
    },

    /** Online only: replays the backlog while the shard stays writable, and measures it. */
    async catchUp(job: JobRef): Promise<CatchUpResult> {
      const opened = performance.now();
      const pass = await withBoth(job, (source, dest) => {
        const started = performance.now();
        const { frames, seq } = replayChanges(source, dest);
        const elapsed = performance.now() - started;
        const backlog = readState(source).seq - seq;
        return { frames, backlog, msPerFrame: frames > 0 ? elapsed / frames : 0 };
      });
      // Closing counts too: the last connection to close checkpoints the WAL.
      return { ...pass, elapsedMs: performance.now() - opened };
    },

    /**
     * Applies every frame up to the barrier that the destination lacks, then gates the
     * cut-over: destination and source must agree on seq, rows and content checksum.
     */
    async replay(job: JobRef): Promise<ReplayResult> {
      if (await handedOver(job)) return withDest(job, (dest) => ({ frames: 0, ...storedFingerprint(dest) }));
      const destPath = await destFile(job);
      return withBoth(job, (source, dest) => {
        if (readState(source).lockedBy !== job.jobId) {
          throw new TasksdError(ErrorType.ShardLocked, `shard ${job.org}/${job.ns} is not locked by job ${job.jobId}; replay needs the barrier`);
        }
        const { frames } = replayChanges(source, dest);
        // The copy's rows were proven to add up to its stored checksum when it was
        // installed, and replay keeps that checksum exact; so equal stored values here
        // mean equal content, checked in O(1) inside the write pause.
        const actual = storedFingerprint(dest);
        sameContent(`destination ${destPath}`, storedFingerprint(source), actual);
        return { frames, ...actual };
      });
    },

    /** Hands the shard to the destination and lifts the barrier; then ends the job's claim. */
    async unlock(job: JobRef): Promise<UnlockResult> {
      const { seq, at } = await replicator.propose({
        op: 'unlock',
        org: job.org,
        ns: job.ns,
        jobId: job.jobId,
        handoff: { from: job.from, to: job.to },
      });
      // Writes resume when the destination is unlocked, before the old file is removed
      // (an unlink that takes longer the bigger the shard).
      const unlockedAt = at ?? Date.now();
      await cluster.catalog.release(job.org, job.ns, job.jobId);
      return { seq, unlockedAt };
    },
  };
}

function failWrites(code: string) {
  return (offset: number) => {
    if (offset >= 0) throw Object.assign(new Error(`${code}: injected by TASKSD_TEST_FAIL_COPY`), { code });
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

/** A full or read-only disk will not heal by retrying the same copy: fail the job with the reason. */
function asDiskError(err: unknown, job: JobRef): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new TasksdError(ErrorType.InsufficientSpace, `node ${job.to} ran out of space while copying ${job.org}/${job.ns}: ${(err as Error).message}`);
  }
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return new TasksdError(ErrorType.DestinationUnwritable, `node ${job.to} refused the copy of ${job.org}/${job.ns}: ${(err as Error).message}`);
  }
  return err;
}
