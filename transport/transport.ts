// What one node asks of another node's agent. The destination of a move pulls through
// this (pin, readFrom, digest, framesSince, unpin); the CLI and writers put, get and
// load through it. transport/http.ts is the implementation; keeping the interface apart
// lets the copy (transport/pull-copy.ts) be tested against any source.
import type { Readable } from 'node:stream';
import type { ShardListing } from '../store/cluster';
import type { ChangeBatch } from '../store/replay';
import type { TaskInput } from '../store/replicator';
import type { Task } from '../store/shard-file';
import type { AgentHealth, CreatedShard, LoadResult, PutResult, ShardRef, SnapshotInfo, SnapshotMode } from './wire';

export interface ShardTransport {
  /** The agent's address, for messages. */
  readonly url: string;

  health(): Promise<AgentHealth>;

  /** Pins (or returns the already pinned) snapshot of the shard for the job. */
  pin(ref: ShardRef, mode: SnapshotMode): Promise<SnapshotInfo>;
  /** The snapshot's bytes from `offset`; SnapshotChanged (TasksdError) when `snapshotId` is no longer the pinned one. */
  readFrom(ref: ShardRef, snapshotId: string, offset: number, signal?: AbortSignal): Readable;
  /** SHA-256 (hex) of the whole snapshot, as the source computed it. */
  digest(ref: ShardRef, snapshotId: string): Promise<string>;
  unpin(ref: ShardRef): Promise<void>;
  /** The changes after `since` (at most `limit`), to apply with store/replay.ts applyChanges. */
  framesSince(org: string, ns: string, since: number, limit?: number): Promise<ChangeBatch>;

  listShards(): Promise<ShardListing[]>;
  /** Makes the shard file on that node; the catalog row is the caller's. */
  createShard(org: string, ns: string): Promise<CreatedShard>;
  /** A write; ShardMovedError (naming the owner) when that node does not own the shard, ShardLocked while locked. */
  put(org: string, ns: string, task: TaskInput): Promise<PutResult>;
  get(org: string, ns: string, id: string): Promise<Task | undefined>;
  /** A bulk load in one transaction (at most MAX_LOAD_TASKS). */
  load(org: string, ns: string, tasks: TaskInput[]): Promise<LoadResult>;

  close(): Promise<void>;
}
