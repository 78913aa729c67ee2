// A node agent's activities: the steps of a move that touch this node's files. They
// run on the node's own task queue, in the agent that owns the files (docs/NODES.md);
// as a source it checks, locks, pins and retires, as a destination it checks, pulls
// the copy from the source's agent, catches up, replays and unlocks. Each is
// idempotent under retries, keyed by the job id.
import { Context } from '@temporalio/activity';
import * as fs from 'node:fs';
import type { NodeStore } from '../../agent/node-store';
import type { SnapshotPins } from '../../agent/snapshots';
import { ErrorType, TasksdError } from '../../common/errors';
import { removeDatabaseFiles } from '../../store/durable-fs';
import { retireFile, unlockAsOwner } from '../../store/hand-off-steps';
import { incomingFile, shardFile } from '../../store/layout';
import { applyChanges } from '../../store/replay';
import { alreadyInstalled, install } from '../../store/shard-copy';
import { openShardFile, readState, type ShardDb } from '../../store/shard-file';
import { sameContent, storedFingerprint } from '../../store/verify';
import type { ShardTransport } from '../../transport/transport';
import { pullSnapshot } from '../../transport/pull-copy';
import { withFailures } from '../failures';
import { heartbeatWhile } from '../heartbeat';
import type { CatchUpResult, CopyHeartbeat, CopyResult, JobRef, LockResult, ReplayResult, SnapshotPin, StepChanges, UnlockResult } from '../types';
import { checkDestinationSide, freeBytesOf, heldBy, inspectSourceFile } from './checks';
import { NO_FAULTS, type ACTIVITY_POINTS, type FaultPoints } from '../../faults';

type StepName = (typeof ACTIVITY_POINTS)[number];
import { asDiskError } from './copy-faults';

export interface NodeDeps {
  /** This node's files, as its agent serves them. */
  store: NodeStore;
  /** The snapshots this node pins for the copies it serves as a source. */
  pins: SnapshotPins;
  /** A transport to another node's agent (the source of a copy). */
  peer: (nodeId: string) => Promise<ShardTransport>;
  /** Keep a moved source under a name no command reports as a shard. */
  retainSource?: boolean;
  /** Fault points (faults/): NO_FAULTS in production. */
  faults?: FaultPoints;
}

export function createNodeActivities({ store, pins, peer, retainSource = false, faults = NO_FAULTS }: NodeDeps) {
  const nodeId = store.nodeId;
  const { catalog } = store.cluster;
  const file = (job: JobRef) => store.file(job.org, job.ns);
  /** A step of this node as the move's source (or destination): refuses a task routed to the wrong node. */
  const as =
    (role: 'from' | 'to') =>
    <A extends unknown[], R>(name: StepName, fn: (job: JobRef, ...rest: A) => Promise<R>) =>
      withFailures(
        faults.around(name, async (job: JobRef, ...rest: A) => {
          if (job[role] !== nodeId) {
            throw new TasksdError(ErrorType.WrongCluster, `node ${nodeId} got the ${name} step meant for node ${job[role]} of job ${job.jobId}; not acting`);
          }
          return fn(job, ...rest);
        }),
      );
  const source = as('from');
  const destination = as('to');

  async function withFile<T>(job: JobRef, fn: (db: ShardDb) => T): Promise<T> {
    const db = openShardFile(await file(job));
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }
  const handedOver = async (job: JobRef) => (await catalog.shard(job.org, job.ns)).owner === job.to;

  /** Pulls every frame since the destination's seq from the source's agent and applies it. */
  async function pullFrames(job: JobRef) {
    const transport = await peer(job.from);
    const destSeq = await withFile(job, (db) => readState(db).seq);
    let frames = 0;
    for (let since = destSeq; ; ) {
      const batch = await transport.framesSince(job.org, job.ns, since);
      const applied = await withFile(job, (db) => applyChanges(db, batch));
      frames += applied.frames;
      since = applied.seq;
      if (!batch.more) return { frames, seq: applied.seq, source: batch.source };
    }
  }

  return {
    /** Source: the shard exists and is not held by another job; returns its size (it is proven sound while it streams). */
    inspectSource: source('inspectSource', async (job: JobRef) => ({
      bytes: inspectSourceFile(await file(job), job.org, job.ns, job.jobId),
    })),

    /** Destination: its directory takes files, holds no other copy of the shard, and has room. */
    checkDestination: destination('checkDestination', async (job: JobRef, sourceBytes: number) => {
      const dir = await store.dir();
      const free = faults.freeBytes;
      checkDestinationSide({
        node: nodeId,
        dir,
        finalPath: shardFile(dir, job.org, job.ns),
        org: job.org,
        ns: job.ns,
        jobId: job.jobId,
        sourceBytes,
        freeBytes: free === undefined ? freeBytesOf : () => free,
      });
    }),

    /** Source: proposes the barrier; the shard refuses writes once it is accepted. */
    lock: source('lock', async (job: JobRef): Promise<LockResult> => {
      const { seq } = await store.replicator.propose({ op: 'lock', org: job.org, ns: job.ns, jobId: job.jobId });
      return { barrierSeq: seq, lockedAt: Date.now() };
    }),

    /**
     * Source: pins the job's snapshot for the copy (offline the locked file, online a
     * read transaction on an empty WAL) and starts proving it (quick_check and the
     * content scan, on threads, while it streams). A checkpoint a reader blocks is
     * waited for, bounded, and shows in the heartbeat details meanwhile.
     */
    pinSnapshot: source('pinSnapshot', async (job: JobRef): Promise<SnapshotPin> => {
      const ctx = Context.current();
      let details: CopyHeartbeat = { bytesCopied: 0, totalBytes: 0 };
      const onWait = (waiting: string | undefined) => {
        if (waiting && !details.waiting) ctx.log.warn(`copy of ${job.org}/${job.ns} waiting: ${waiting}`, { jobId: job.jobId });
        ctx.heartbeat((details = waiting ? { bytesCopied: 0, totalBytes: 0, waiting } : { bytesCopied: 0, totalBytes: 0 }));
      };
      const { snapshotId, size, seq, rows } = await heartbeatWhile(pins.pin(job.org, job.ns, job.jobId, job.mode, onWait), () => details);
      return { snapshotId, size, seq, rows };
    }),

    /**
     * Destination: streams the pinned snapshot from the source's agent into
     * `<shard>.incoming`, resuming where the last attempt got to, proves it by SHA-256
     * against the source's (which the source gives only once it has proven the snapshot
     * sound, else SourceCorrupt: nothing is installed and the move rolls back), checks
     * the state row, and installs it held by the job.
     */
    checkpointAndCopy: destination(
      'checkpointAndCopy',
      async (job: JobRef, pin: SnapshotPin, maxBytesPerSecond?: number): Promise<CopyResult> => {
        const ctx = Context.current();
        const dir = await store.dir();
        const finalPath = shardFile(dir, job.org, job.ns);
        const done = alreadyInstalled(finalPath, job.jobId);
        if (done) return done;
        const incoming = incomingFile(dir, job.org, job.ns);
        const previous = ctx.info.heartbeatDetails as CopyHeartbeat | undefined;
        let last: CopyHeartbeat = { bytesCopied: previous?.bytesCopied ?? 0, totalBytes: previous?.totalBytes ?? pin.size, snapshotId: previous?.snapshotId };
        const transport = await peer(job.from);
        const rate = [maxBytesPerSecond, faults.copyBytesPerSecond].filter((r): r is number => !!r);
        if (last.bytesCopied > 0 && last.snapshotId) {
          ctx.log.info(`resuming copy of ${job.org}/${job.ns} at byte ${last.bytesCopied} of snapshot ${last.snapshotId}`, { jobId: job.jobId });
        }
        try {
          const pulled = await heartbeatWhile(
            pullSnapshot({
              transport,
              ref: { org: job.org, ns: job.ns, jobId: job.jobId },
              mode: job.mode,
              incomingPath: incoming,
              resumeFrom: last.snapshotId && last.bytesCopied > 0 ? { offset: last.bytesCopied, snapshotId: last.snapshotId } : undefined,
              maxBytesPerSecond: rate.length ? Math.min(...rate) : undefined,
              inTransit: faults.inTransit,
              onProgress: (progress) => {
                faults.onCopyProgress(progress.bytesCopied);
                ctx.heartbeat((last = progress) satisfies CopyHeartbeat);
              },
              log: (line) => ctx.log.warn(line, { jobId: job.jobId }),
              signal: ctx.cancellationSignal,
            }),
            () => last,
          );
          const expected = { seq: pulled.snapshot.seq, rows: pulled.snapshot.rows };
          await heartbeatWhile(install(incoming, finalPath, { org: job.org, ns: job.ns, jobId: job.jobId, copy: { signal: ctx.cancellationSignal } }, expected, { afterRename: () => faults.at('install:after-rename') }), () => last);
          await transport.unpin({ org: job.org, ns: job.ns, jobId: job.jobId }).catch(() => undefined); // the source's idle timeout frees it otherwise
          await faults.at('checkpointAndCopy:after-install');
          return { bytes: pulled.bytes, ...expected, sha256: pulled.sha256 };
        } catch (err) {
          // A failed or cancelled copy leaves nothing behind; a cut link keeps what arrived, to resume from.
          // So does an attempt the server has given up on (its heartbeats timed out while
          // this node was cut off): a newer attempt is resuming from that file by now.
          const superseded = ctx.cancellationDetails?.timedOut || ctx.cancellationDetails?.notFound;
          const unreachable = err instanceof TasksdError && err.type === ErrorType.NodeUnreachable;
          if (!unreachable && !superseded) removeDatabaseFiles(incoming);
          throw asDiskError(err, job);
        }
      },
    ),

    /** Destination, online: applies the frames written since its copy while the shard stays writable, and measures it. */
    catchUp: destination('catchUp', async (job: JobRef): Promise<CatchUpResult> => {
      const started = performance.now();
      const { frames, seq, source: at } = await heartbeatWhile(pullFrames(job));
      const elapsedMs = performance.now() - started;
      return { frames, backlog: Math.max(0, at.seq - seq), msPerFrame: frames > 0 ? elapsedMs / frames : 0, elapsedMs };
    }),

    /**
     * Destination: applies every frame up to the barrier, then gates the cut-over: the
     * copy and the source must agree on seq, rows and content checksum.
     */
    replay: destination('replay', async (job: JobRef): Promise<ReplayResult> => {
      if (await handedOver(job)) return withFile(job, (db) => ({ frames: 0, ...storedFingerprint(db) }));
      const { frames, source: at } = await heartbeatWhile(pullFrames(job));
      if (at.lockedBy !== job.jobId) {
        throw new TasksdError(ErrorType.ShardLocked, `shard ${job.org}/${job.ns} is not locked by job ${job.jobId} on ${job.from}; replay needs the barrier`);
      }
      // The copy's rows were proven to add up to its stored checksum when it was
      // installed, and replay keeps that checksum exact; so equal stored values here
      // mean equal content, checked in O(1) inside the write pause.
      const actual = await withFile(job, storedFingerprint);
      sameContent(`destination ${await file(job)} on ${nodeId}`, { seq: at.seq, rows: at.rows, checksum: `sum128:${at.contentSum}` }, actual);
      return { frames, ...actual };
    }),

    /** Destination, after the catalog handed it the shard: writable at the new epoch. */
    unlock: destination('unlock', async (job: JobRef, epoch: number): Promise<UnlockResult & StepChanges> => {
      const applied = unlockAsOwner(await file(job), job.jobId, epoch);
      await faults.at('unlock:after-release');
      return { seq: applied.seq, unlockedAt: applied.at ?? Date.now(), changes: applied.unlocked ? [`unlocked ${job.org}/${job.ns} on its new owner ${nodeId}`] : [] };
    }),

    /** Source, after the hand-off: marks its file moved and removes it (or keeps it, renamed). */
    retire: source('retire', async (job: JobRef): Promise<StepChanges> => {
      const retired = await retireFile(await file(job), job.to, job.jobId, { retain: retainSource, afterMark: () => faults.at('retire:after-mark') });
      return { changes: retired ? [`retired the old copy on ${nodeId}`] : [] };
    }),

    /** Destination, rollback: removes the job's copy (a file another job holds is left alone). */
    discardCopy: destination('discardCopy', async (job: JobRef): Promise<StepChanges> => {
      const dir = await store.dir();
      const finalPath = shardFile(dir, job.org, job.ns);
      const ours = [incomingFile(dir, job.org, job.ns), ...(heldBy(finalPath) === job.jobId ? [finalPath] : [])].filter((f) => fs.existsSync(f));
      for (const leftover of ours) removeDatabaseFiles(leftover);
      await faults.at('discardCopy:after-remove');
      return { changes: ours.map((f) => `removed ${f} from ${nodeId}`) };
    }),

    /** Source, rollback: lifts this job's lock; a no-op when it holds none. */
    unlockInPlace: source('unlockInPlace', async (job: JobRef): Promise<StepChanges> => {
      const locked = heldBy(await file(job)) === job.jobId;
      if (locked) await store.replicator.propose({ op: 'unlock', org: job.org, ns: job.ns, jobId: job.jobId });
      await faults.at('unlockInPlace:after-unlock');
      await pins.unpin(job.org, job.ns, job.jobId);
      return { changes: locked ? [`lifted the lock on ${nodeId}`] : [] };
    }),
  };
}

export type NodeActivities = ReturnType<typeof createNodeActivities>;
