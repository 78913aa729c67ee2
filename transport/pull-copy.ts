// The destination's half of a move's copy: pull the job's pinned snapshot from the
// source agent into `<shard>.incoming`, resuming at an offset, hashing every byte on
// the way in (the prefix already on disk is hashed first on a resume), paced to a
// byte rate, fsynced, and proved against the source's own SHA-256 of the snapshot. No
// second read of either file is needed to prove the bytes. Installing (verify the
// rows, rename) is the caller's.
import { createHash, type Hash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorType, TasksdError } from '../common/errors';
import { YoungGc } from '../store/young-gc';
import type { ShardTransport } from './transport';
import type { ShardRef, SnapshotInfo, SnapshotMode } from './wire';

export interface PullProgress {
  /** Bytes in the incoming file, all of them written; heartbeat this with `snapshotId` to resume. */
  bytesCopied: number;
  totalBytes: number;
  snapshotId: string;
}

export interface PullRequest {
  transport: ShardTransport;
  ref: ShardRef;
  mode: SnapshotMode;
  incomingPath: string;
  /** Where an earlier attempt got to (its last progress): used only when the source still pins that snapshot. */
  resumeFrom?: { offset: number; snapshotId: string };
  /** Caps the pull (token bucket, no initial burst). */
  maxBytesPerSecond?: number;
  onProgress?: (progress: PullProgress) => void;
  /** Sees each chunk as it arrives, before it is hashed (fault injection). */
  inTransit?: (chunk: Buffer, position: number) => void;
  /** Told, in one line, why the copy starts over from byte 0. */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface PullResult {
  bytes: number;
  sha256: string;
  snapshot: SnapshotInfo;
}

/** How often a copy may start over because the source's snapshot changed under it. */
const MAX_RESTARTS = 3;
/** Hashing a resumed copy's prefix reads this much at a time. */
const READ_BYTES = 4 * 1024 * 1024;
/**
 * Bytes buffered between the network and the disk: the stream keeps arriving while a
 * write is in flight. 2 MiB (was 8, and 4 MiB in the transport): chunks that wait in
 * the queues live through the young collections (COLLECT_EVERY_BYTES) and are left for
 * a full one; a 256 MiB move's destination peaked +51 MiB over rest instead of +75
 * (issue 15), the move no slower (4.1 vs 4.5 s, one run each).
 */
const WRITE_BUFFER_BYTES = 2 * 1024 * 1024;
/**
 * Written bytes are flushed to disk (fdatasync, in the background) every this many, so
 * the kernel never holds a gigabyte of dirty pages that writers' own fsyncs would queue
 * behind, and the final fsync is short.
 */
const FLUSH_EVERY_BYTES = 32 * 1024 * 1024;
/** Progress (the heartbeat's resume offset) is reported every this many bytes, or this often for a slow (capped) copy. */
const PROGRESS_EVERY_BYTES = 1024 * 1024;
/**
 * The received chunks (socket reads, malloc'd outside the V8 heap) are collected every
 * this many bytes written, not once ~64 MiB of them have piled up (store/young-gc.js).
 */
const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;
const collector = new YoungGc(COLLECT_EVERY_BYTES);
const PROGRESS_EVERY_MS = 1000;

export async function pullSnapshot(req: PullRequest): Promise<PullResult> {
  let resume = req.resumeFrom;
  for (let restarts = 0; ; restarts++) {
    try {
      return await pullOnce(req, resume);
    } catch (err) {
      if (!(err instanceof TasksdError && err.type === ErrorType.SnapshotChanged) || restarts >= MAX_RESTARTS) throw err;
      req.log?.(`copy of ${req.ref.org}/${req.ref.ns} from ${req.transport.url} starts over from byte 0: ${err.message}`);
      resume = undefined;
    }
  }
}

async function pullOnce(req: PullRequest, resume: PullRequest['resumeFrom']): Promise<PullResult> {
  const { transport, ref, signal } = req;
  const snapshot = await transport.pin(ref, req.mode);
  let offset = 0;
  if (resume && resume.offset > 0) {
    if (resume.snapshotId !== snapshot.snapshotId) {
      req.log?.(
        `copy of ${ref.org}/${ref.ns} from ${transport.url} starts over from byte 0: the source now pins snapshot ${snapshot.snapshotId}, ` +
          `not ${resume.snapshotId} that the first ${resume.offset} bytes came from (the source restarted or released the pin and was written since)`,
      );
    } else {
      offset = await verifiedPrefix(req.incomingPath, resume.offset, snapshot.size);
    }
  }
  const hash = createHash('sha256');
  const file = await fsp.open(req.incomingPath, offset > 0 ? 'r+' : 'w');
  try {
    await file.truncate(offset);
    if (offset > 0) await hashPrefix(file, offset, hash);
    const start = offset;
    offset = start + (await streamInto(req, snapshot, file, start, hash));
    if (offset !== snapshot.size) {
      throw new TasksdError(
        ErrorType.NodeUnreachable,
        `the snapshot stream from ${transport.url} ended at ${offset} of ${snapshot.size} bytes; the copy resumes from there`,
      );
    }
    await file.sync();
  } finally {
    await file.close();
  }
  const sha256 = hash.digest('hex');
  const theirs = await transport.digest(ref, snapshot.snapshotId);
  if (theirs !== sha256) {
    throw new TasksdError(
      ErrorType.VerificationFailed,
      `copy of ${ref.org}/${ref.ns} at ${req.incomingPath} does not match the source: sha256 of the ${offset} bytes received is ${sha256}, ` +
        `${transport.url} has ${theirs} for snapshot ${snapshot.snapshotId}; the bytes were damaged on their way to the destination: ` +
        'retry, and if it repeats check the network and the destination disk',
    );
  }
  return { bytes: offset, sha256, snapshot };
}

/** A resume offset is trusted only if the partial file really holds that many bytes (and the snapshot that many). */
async function verifiedPrefix(path: string, offset: number, size: number): Promise<number> {
  if (offset > size) return 0;
  try {
    return (await fsp.stat(path)).size >= offset ? offset : 0;
  } catch {
    return 0;
  }
}

async function hashPrefix(file: fsp.FileHandle, length: number, hash: Hash): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, length));
  for (let position = 0; position < length; ) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, length - position), position);
    if (bytesRead === 0) throw new Error(`${length - position} bytes of the partial copy vanished while hashing it`);
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

/**
 * Streams the snapshot from `start` into `file`: every byte hashed as it arrives, paced
 * to the rate cap, written behind a buffer, flushed every FLUSH_EVERY_BYTES, and
 * reported as progress only once written. Returns the bytes written; what was written
 * before a broken stream stays, so the next attempt resumes after it.
 */
async function streamInto(req: PullRequest, snapshot: SnapshotInfo, file: fsp.FileHandle, start: number, hash: Hash): Promise<number> {
  const { transport, ref, signal } = req;
  if (start >= snapshot.size) return 0;
  const bucket = req.maxBytesPerSecond ? new TokenBucket(req.maxBytesPerSecond) : undefined;
  const out = new PositionalWriter(file, start, WRITE_BUFFER_BYTES, () => report());
  const flusher = new BackgroundFlush(file);
  let received = 0;
  let reported = 0;
  let reportedAt = performance.now();
  const report = () => {
    const written = out.bytesWritten;
    const due = written - reported >= PROGRESS_EVERY_BYTES || performance.now() - reportedAt >= PROGRESS_EVERY_MS;
    if (!due && written + start < snapshot.size) return;
    reported = written;
    reportedAt = performance.now();
    flusher.maybeFlush(written);
    req.onProgress?.({ bytesCopied: start + written, totalBytes: snapshot.size, snapshotId: snapshot.snapshotId });
  };
  req.onProgress?.({ bytesCopied: start, totalBytes: snapshot.size, snapshotId: snapshot.snapshotId });
  const prove = new Transform({
    highWaterMark: WRITE_BUFFER_BYTES,
    transform(chunk: Buffer, _encoding, done) {
      if (start + received + chunk.length > snapshot.size) {
        return done(new TasksdError(ErrorType.VerificationFailed, `${transport.url} sent more than the ${snapshot.size} bytes of snapshot ${snapshot.snapshotId}`));
      }
      req.inTransit?.(chunk, start + received);
      received += chunk.length;
      hash.update(chunk);
      if (!bucket) return done(null, chunk);
      bucket.take(chunk.length, signal).then(() => done(null, chunk), done);
    },
  });
  try {
    await pipeline(transport.readFrom(ref, snapshot.snapshotId, start, signal), prove, out, { signal });
  } catch (err) {
    // The transport reports a broken stream as NodeUnreachable itself; anything else is the disk's (ENOSPC, EROFS…).
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    await flusher.settled();
  }
  signal?.throwIfAborted(); // a cut that came as the last bytes arrived is still a cut
  report();
  return out.bytesWritten;
}

/**
 * Writes a stream into an open file from `start`, the chunks queued meanwhile written
 * together (one writev call each time), and counts what is written.
 */
class PositionalWriter extends Writable {
  bytesWritten = 0;

  constructor(
    private readonly file: fsp.FileHandle,
    private readonly start: number,
    highWaterMark: number,
    /** Told after each write; what it throws fails the stream (a fault injected at that offset). */
    private readonly onWritten: () => void,
  ) {
    super({ highWaterMark });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => done(), done);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (err?: Error | null) => void): void {
    this.writeAll(chunks.map((c) => c.chunk)).then(() => done(), done);
  }

  /** One writev of the queued chunks (no copy into one Buffer); what a short write left, a write at a time. */
  private async writeAll(buffers: Buffer[]): Promise<void> {
    const total = buffers.reduce((n, b) => n + b.length, 0);
    let { bytesWritten: skip } = await this.file.writev(buffers, this.start + this.bytesWritten);
    this.bytesWritten += skip;
    for (const buffer of buffers) {
      if (skip >= buffer.length) {
        skip -= buffer.length;
        continue;
      }
      for (let written = skip; written < buffer.length; ) {
        const { bytesWritten } = await this.file.write(buffer, written, buffer.length - written, this.start + this.bytesWritten);
        written += bytesWritten;
        this.bytesWritten += bytesWritten;
      }
      skip = 0;
    }
    collector.add(total);
    this.onWritten();
  }
}

/** One fdatasync at a time, in the background, each time another FLUSH_EVERY_BYTES have been written. */
class BackgroundFlush {
  private flushedAt = 0;
  private running?: Promise<void>;

  constructor(private readonly file: fsp.FileHandle) {}

  maybeFlush(written: number): void {
    if (this.running || written - this.flushedAt < FLUSH_EVERY_BYTES) return;
    this.flushedAt = written;
    this.running = this.file.datasync().catch(() => undefined).finally(() => (this.running = undefined)); // the final fsync reports any error
  }

  async settled(): Promise<void> {
    await this.running;
  }
}

/**
 * Paces a stream to `rate` bytes per second. It starts empty (no burst) and may go
 * into debt by one chunk, which is then slept off; a held-back reader makes TCP hold
 * back the sender, so the source is paced too. Over a copy the rate stays within one
 * chunk's worth of the cap.
 */
export class TokenBucket {
  private tokens = 0;
  private last = performance.now();
  private readonly capacity: number;

  constructor(private readonly rate: number) {
    if (!(rate > 0)) throw new TasksdError(ErrorType.InvalidInput, `a rate cap must be above 0 bytes per second, not ${rate}`);
    // A tenth of a second's worth: a pause of the reader is not made up for by a long burst.
    this.capacity = Math.max(rate / 10, 64 * 1024);
  }

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens < 0) await sleep((-this.tokens / this.rate) * 1000, undefined, { signal });
  }
}
