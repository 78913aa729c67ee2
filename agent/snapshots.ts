// Snapshot pins: what a source agent serves a move's copy from. Per (org, ns, job) one
// pin: the shard is checkpointed and a read transaction is left open on the empty WAL
// (store/shard-copy.ts beginSnapshot), so SQLite cannot checkpoint into the main file
// and the main file is frozen while writers go on appending to the WAL. Offline the
// shard is also locked by the job, so the file could not change anyway — and a fresh
// pin after an agent restart finds the same bytes and so the same snapshot id, which
// is what lets a copy resume across a source restart. Online, a restart loses the pin
// and a fresh one differs once anything was written: the reader is told
// SnapshotChanged and starts over.
//
// The pin also keeps a running SHA-256 of the bytes it has served contiguously from
// byte 0, so a straight-through copy's digest costs no second read of the file; the
// digest only reads what was never served.
//
// And it proves what it serves: from the moment it is pinned, quick_check and a scan
// that the rows add up to the state row run on two threads over exactly the pinned
// bytes (store/snapshot-proof.ts), while the snapshot streams. The digest, the
// destination's last step of the copy, answers only once that proof is in: a damaged
// snapshot is answered SourceCorrupt, and the move rolls back without installing
// anything. The proof runs once per pin (a resumed stream or a repeated digest reuses
// it) and its threads stop when the pin is released or expires.
import { createHash, type Hash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ErrorType, TasksdError } from '../common/errors';
import { beginSnapshot } from '../store/shard-copy';
import { YoungGc } from '../store/young-gc';
import { openShardFile, readState, type ShardDb } from '../store/shard-file';
import { fileSize } from '../store/durable-fs';
import { INLINE_PROOF_BYTES, InlineProof, SnapshotProof, sourceDamaged, type PinProof } from '../store/snapshot-proof';
import type { Inspection } from '../store/sqlite-thread';
import type { SnapshotInfo, SnapshotMode } from '../transport/wire';
import type { NodeStore } from './node-store';

/** A pin nobody read from for this long is released (its read transaction ends, the WAL can be checkpointed). */
export const DEFAULT_PIN_IDLE_MS = 10 * 60_000;
const READ_CHUNK = 1024 * 1024;
/** How far a snapshot stream reads ahead of the network. */
const READ_AHEAD_BYTES = 4 * READ_CHUNK;
/** The chunks sent are collected every this many bytes read (store/young-gc.js). */
const collector = new YoungGc(4 * READ_CHUNK);

export interface SnapshotPinsOptions {
  idleMs?: number;
  /** Told what a pin's checkpoint waits for (a reader holding the WAL), then undefined. */
  onWait?: (waiting: string | undefined) => void;
}

class Pin {
  private readonly hash: Hash = createHash('sha256');
  /** Bytes [0, hashedUpTo) are in `hash`. */
  private hashedUpTo = 0;
  private digestHex?: string;
  /** The proof of the pinned bytes, started when pinned; settled once. */
  private readonly proven: Promise<Inspection>;
  /** What the proof found, once it is in. */
  private verdict?: { inspection: Inspection } | { error: Error };
  /** Streams reading now: a pin in use never expires. */
  active = 0;
  lastUsed = Date.now();

  constructor(
    readonly key: string,
    readonly what: string,
    readonly mode: SnapshotMode,
    readonly info: SnapshotInfo,
    /** Holds the read transaction that freezes the main file. */
    private readonly db: ShardDb,
    /** Every read goes through this one descriptor, so the pin reads the same inode to the end. */
    private readonly handle: fsp.FileHandle,
    /** Joined to this pin's read transaction: checks exactly the bytes served. */
    private readonly proof: PinProof,
    /** The source as the operator knows it: shard, file and node. */
    private readonly source: string,
  ) {
    this.proven = proof.run();
    this.proven.then(
      (inspection) => (this.verdict = { inspection }),
      (error: Error) => (this.verdict = { error }),
    );
  }

  /** True once the proof failed to run (not: found damage); such a pin cannot prove itself and is dropped. */
  get unproven(): boolean {
    return this.verdict !== undefined && 'error' in this.verdict;
  }

  inspection(): Promise<Inspection> {
    return this.proven;
  }

  /** SourceCorrupt as soon as the proof found damage, so no more of a damaged snapshot is served. */
  refuseIfDamaged(): void {
    if (this.verdict && 'inspection' in this.verdict) this.throwIfDamaged(this.verdict.inspection);
  }

  private throwIfDamaged(inspection: Inspection): void {
    if (inspection.damage) throw new TasksdError(ErrorType.SourceCorrupt, sourceDamaged(this.source, inspection.damage));
  }

  touch(): void {
    this.lastUsed = Date.now();
  }

  /** Feeds the running hash with a chunk read at `position`, if it continues what was hashed. */
  private advance(position: number, chunk: Buffer): void {
    if (this.digestHex !== undefined || position > this.hashedUpTo) return;
    const end = position + chunk.length;
    if (end <= this.hashedUpTo) return;
    this.hash.update(chunk.subarray(this.hashedUpTo - position));
    this.hashedUpTo = end;
  }

  private async readAt(position: number): Promise<Buffer> {
    const want = Math.min(READ_CHUNK, this.info.size - position);
    const buffer = Buffer.allocUnsafe(want);
    const { bytesRead } = await this.handle.read(buffer, 0, want, position);
    if (bytesRead === 0) throw new Error(`${this.what}: the snapshot file ended at ${position} of ${this.info.size} bytes`);
    const chunk = bytesRead === want ? buffer : buffer.subarray(0, bytesRead);
    collector.add(bytesRead);
    this.advance(position, chunk);
    this.touch();
    return chunk;
  }

  /**
   * The bytes from `offset` to the end. The stream reads ahead up to its buffer while
   * the network drains it, so the disk and the socket stay busy together; every chunk
   * feeds the running hash on its way out.
   */
  stream(offset: number): Readable {
    this.active++;
    let position = offset;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.active--;
      this.touch();
    };
    const pin = this;
    return new Readable({
      highWaterMark: READ_AHEAD_BYTES,
      read() {
        if (position >= pin.info.size) {
          finish();
          return void this.push(null);
        }
        pin.readAt(position).then(
          (chunk) => {
            position += chunk.length;
            this.push(chunk);
          },
          (err) => this.destroy(err),
        );
      },
      destroy(err, callback) {
        finish();
        callback(err);
      },
    });
  }

  async digest(): Promise<string> {
    this.active++;
    try {
      while (this.digestHex === undefined && this.hashedUpTo < this.info.size) await this.readAt(this.hashedUpTo);
      this.digestHex ??= this.hash.digest('hex');
      // The bytes' digest is only worth giving once they are proven sound.
      let inspection: Inspection;
      try {
        inspection = await this.proven;
      } catch (err) {
        throw new Error(`the proof of ${this.what} did not run (${(err as Error).message}); the pin is released and a retry pins it again`);
      }
      this.throwIfDamaged(inspection);
      return this.digestHex;
    } finally {
      this.active--;
      this.touch();
    }
  }

  async release(): Promise<void> {
    try {
      await this.proof.terminate();
      if (this.db.inTransaction) this.db.exec('COMMIT');
    } finally {
      this.db.close();
      await this.handle.close();
    }
  }
}

export class SnapshotPins {
  private readonly pins = new Map<string, Pin>();
  private readonly opening = new Map<string, Promise<Pin>>();
  private readonly idleMs: number;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly store: NodeStore,
    private readonly options: SnapshotPinsOptions = {},
  ) {
    this.idleMs = options.idleMs ?? DEFAULT_PIN_IDLE_MS;
    this.sweeper = setInterval(() => void this.expire(), Math.max(50, Math.min(this.idleMs / 4, 60_000)));
    this.sweeper.unref();
  }

  /** Pins the job's snapshot, or returns the one it already has. Without `mode`: offline when the job holds the file's lock. */
  async pin(org: string, ns: string, jobId: string, mode?: SnapshotMode, onWait?: SnapshotPinsOptions['onWait']): Promise<SnapshotInfo> {
    const pin = await this.pinOf(org, ns, jobId, mode, onWait);
    return pin.info;
  }

  /** The snapshot's bytes from `offset`; SnapshotChanged unless `snapshotId` is what is (or, re-pinned, would be) pinned. */
  async read(org: string, ns: string, jobId: string, snapshotId: string, offset: number): Promise<{ info: SnapshotInfo; stream: Readable }> {
    const pin = await this.expect(org, ns, jobId, snapshotId);
    pin.refuseIfDamaged();
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > pin.info.size) {
      throw new TasksdError(ErrorType.InvalidInput, `offset ${offset} is outside snapshot ${snapshotId} of ${pin.info.size} bytes`);
    }
    return { info: pin.info, stream: pin.stream(offset) };
  }

  /**
   * SHA-256 (hex) of the whole snapshot, once the snapshot is proven sound: waits for the
   * proof, and is SourceCorrupt when it found damage.
   */
  async digest(org: string, ns: string, jobId: string, snapshotId: string): Promise<string> {
    const pin = await this.expect(org, ns, jobId, snapshotId);
    try {
      return await pin.digest();
    } catch (err) {
      if (pin.unproven) await this.drop(pin);
      throw err;
    }
  }

  /** The proof of the job's pinned snapshot, once it is in (for tests). */
  async proof(org: string, ns: string, jobId: string, snapshotId: string): Promise<Inspection> {
    return (await this.expect(org, ns, jobId, snapshotId)).inspection();
  }

  /** Releases the job's pin; false when there was none. */
  async unpin(org: string, ns: string, jobId: string): Promise<boolean> {
    const key = keyOf(org, ns, jobId);
    await this.opening.get(key)?.catch(() => undefined);
    const pin = this.pins.get(key);
    if (!pin) return false;
    this.pins.delete(key);
    await pin.release();
    return true;
  }

  private async drop(pin: Pin): Promise<void> {
    if (this.pins.get(pin.key) !== pin) return;
    this.pins.delete(pin.key);
    await pin.release().catch(() => undefined);
  }

  /** How many pins are held (for health and tests). */
  get count(): number {
    return this.pins.size;
  }

  /** Releases every pin; later calls are refused. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.allSettled([...this.opening.values()]);
    const pins = [...this.pins.values()];
    this.pins.clear();
    await Promise.allSettled(pins.map((pin) => pin.release()));
  }

  private async expect(org: string, ns: string, jobId: string, snapshotId: string): Promise<Pin> {
    const pin = await this.pinOf(org, ns, jobId);
    if (pin.info.snapshotId !== snapshotId) {
      throw new TasksdError(
        ErrorType.SnapshotChanged,
        `snapshot ${snapshotId} of ${org}/${ns} for job ${jobId} is no longer pinned here (it is now ${pin.info.snapshotId}: ` +
          `the source agent restarted or released the pin, and the shard was written since); start the copy again from byte 0`,
      );
    }
    return pin;
  }

  private async pinOf(org: string, ns: string, jobId: string, mode?: SnapshotMode, onWait?: SnapshotPinsOptions['onWait']): Promise<Pin> {
    if (this.closed) throw new TasksdError(ErrorType.NodeUnreachable, `node ${this.store.nodeId} is shutting down`);
    const key = keyOf(org, ns, jobId);
    let pin = this.pins.get(key);
    if (!pin) {
      let opening = this.opening.get(key);
      if (!opening) {
        opening = this.open(key, org, ns, jobId, mode, onWait).finally(() => this.opening.delete(key));
        this.opening.set(key, opening);
      }
      pin = await opening;
    }
    if (mode && pin.mode !== mode) {
      throw new TasksdError(ErrorType.InvalidInput, `job ${jobId} already pins ${org}/${ns} for an ${pin.mode} copy, not ${mode}`);
    }
    pin.touch();
    return pin;
  }

  private async open(key: string, org: string, ns: string, jobId: string, mode?: SnapshotMode, onWait = this.options.onWait): Promise<Pin> {
    const file = await this.store.file(org, ns);
    const what = `snapshot of ${org}/${ns} for job ${jobId}`;
    const db = openShardFile(file);
    let handle: fsp.FileHandle | undefined;
    // A large shard's proof threads open the file now, while the checkpoint runs, and join
    // the snapshot as it is taken; a small one is proven through the pin's own connection.
    const bytes = (fileSize(file) ?? 0) + (fileSize(`${file}-wal`) ?? 0);
    const proof: PinProof = bytes <= INLINE_PROOF_BYTES ? new InlineProof().joinedBy(db) : new SnapshotProof(file);
    try {
      const locked = readState(db).lockedBy === jobId;
      const chosen: SnapshotMode = mode ?? (locked ? 'offline' : 'online');
      if (chosen === 'offline' && !locked) {
        throw new TasksdError(ErrorType.ShardLocked, `shard ${org}/${ns} is not locked by job ${jobId}; an offline copy needs the barrier`);
      }
      await beginSnapshot(db, { sourceFile: file, onWait, joining: proof });
      // Read inside the snapshot's own transaction: these describe exactly the frozen bytes.
      const state = readState(db);
      if (chosen === 'offline' && state.lockedBy !== jobId) {
        throw new TasksdError(ErrorType.ShardLocked, `shard ${org}/${ns} was unlocked while job ${jobId} pinned it`);
      }
      handle = await fsp.open(file, 'r');
      const size = (await handle.stat()).size;
      const info: SnapshotInfo = { snapshotId: `${state.seq}-${size}-${state.contentSum.slice(0, 8)}`, size, seq: state.seq, rows: state.rows };
      const pin = new Pin(key, what, chosen, info, db, handle, proof, `source shard ${org}/${ns} at ${file} on node ${this.store.nodeId}`);
      if (this.closed) {
        await pin.release();
        throw new TasksdError(ErrorType.NodeUnreachable, `node ${this.store.nodeId} is shutting down`);
      }
      this.pins.set(key, pin);
      return pin;
    } catch (err) {
      // Nothing of a failed pin stays open (a released one is closed already).
      await proof.terminate();
      if (db.open) {
        if (db.inTransaction) db.exec('COMMIT');
        db.close();
      }
      await handle?.close().catch(() => undefined);
      throw err;
    }
  }

  private async expire(): Promise<void> {
    const now = Date.now();
    for (const [key, pin] of this.pins) {
      if (pin.active > 0 || now - pin.lastUsed < this.idleMs) continue;
      this.pins.delete(key);
      await pin.release().catch(() => undefined);
    }
  }
}

function keyOf(org: string, ns: string, jobId: string): string {
  return JSON.stringify([org, ns, jobId]);
}
