// The JSON both ends of the node agent's HTTP API agree on (docs/NODES.md, "The agent's
// HTTP API"): the server (agent/http-server.ts) answers with these shapes and the
// client (transport/http.ts) reads them back. Bytes travel as base64 inside JSON,
// except a snapshot's, which are the raw response body.
import { ErrorType, TasksdError } from '../common/errors';

/** The most tasks one bulk load may carry: one transaction, one request body. */
export const MAX_LOAD_TASKS = 10_000;
/** The largest request body the agent reads (a bulk load of MAX_LOAD_TASKS rows of a few KiB each). */
export const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

/** One job's snapshot of one shard. */
export interface ShardRef {
  org: string;
  ns: string;
  jobId: string;
}

export type SnapshotMode = 'offline' | 'online';

export interface SnapshotInfo {
  /** `<seq>-<size>-<first 8 hex digits of the content checksum>`. */
  snapshotId: string;
  /** Bytes in the snapshot (the frozen main file). */
  size: number;
  seq: number;
  rows: number;
}

export interface AgentHealth {
  node: string;
  dir: string;
  cluster: string;
}

/** A task as the API carries it: the body in base64, or null. */
export interface WireTask {
  id: string;
  title: string;
  body: string | null;
  seq: number;
}

export interface PutResult {
  id: string;
  title: string;
  seq: number;
}

export interface LoadResult {
  org: string;
  ns: string;
  rows: number;
  seq: number;
}

/** A shard file the agent just made (the catalog row is the caller's to add). */
export interface CreatedShard {
  org: string;
  ns: string;
  node: string;
  seq: number;
  rows: number;
  bytes: number;
}

export interface ErrorBody {
  error: string;
  message: string;
  /** With `Moved`: the node that owns the shard now. */
  owner?: string;
}

/** A shard this node no longer owns (or never did): the answer names the owner so a client can follow it once. */
export class ShardMovedError extends TasksdError {
  constructor(
    readonly org: string,
    readonly ns: string,
    readonly owner: string,
    message = `shard ${org}/${ns} is owned by node ${owner}`,
  ) {
    super(ErrorType.Moved, message);
  }
}
