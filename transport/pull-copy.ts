// The destination's half of a move's copy: pull the job's pinned snapshot from the
// source agent into `<shard>.incoming`, resuming at an offset, hashing every byte on
// the way in (the prefix already on disk is hashed first on a resume), paced to a
// byte rate, fsynced, and proved against the source's own SHA-256 of the snapshot. No
// second read of either file is needed to prove the bytes. Installing (verify the
// rows, rename) is the caller's.
import { createHash, type Hash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorType, TasksdError } from '../common/errors';
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
/** Writes go to disk in chunks this big (the network hands over ~64 KiB at a time). */
const WRITE_BYTES = 1024 * 1024;

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
    const progress = (bytesCopied: number) => req.onProgress?.({ bytesCopied, totalBytes: snapshot.size, snapshotId: snapshot.snapshotId });
    progress(offset);
    const bucket = req.maxBytesPerSecond ? new TokenBucket(req.maxBytesPerSecond) : undefined;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const data = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
      await writeFully(file, data, offset);
      offset += data.length;
      pending = [];
      pendingBytes = 0;
      progress(offset);
    };
    if (offset < snapshot.size) {
      try {
        for await (const chunk of transport.readFrom(ref, snapshot.snapshotId, offset, signal)) {
          if (offset + pendingBytes + chunk.length > snapshot.size) {
            throw new TasksdError(ErrorType.VerificationFailed, `${transport.url} sent more than the ${snapshot.size} bytes of snapshot ${snapshot.snapshotId}`);
          }
          hash.update(chunk);
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= WRITE_BYTES) await flush();
          if (bucket) await bucket.take(chunk.length, signal);
        }
      } finally {
        // What arrived before a cut link is good: keeping it lets the next attempt resume after it.
        await flush();
      }
    }
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
        `${transport.url} has ${theirs} for snapshot ${snapshot.snapshotId}`,
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
  const buffer = Buffer.allocUnsafe(Math.min(WRITE_BYTES * 4, length));
  for (let position = 0; position < length; ) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, length - position), position);
    if (bytesRead === 0) throw new Error(`${length - position} bytes of the partial copy vanished while hashing it`);
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

async function writeFully(file: fsp.FileHandle, data: Buffer, position: number): Promise<void> {
  for (let written = 0; written < data.length; ) {
    const { bytesWritten } = await file.write(data, written, data.length - written, position + written);
    written += bytesWritten;
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
