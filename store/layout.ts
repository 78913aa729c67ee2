// Where things live under the data root. Ids are validated (common/validation) before
// they get here and contain no ".", so "<org>.<ns>.db" is unambiguous and every name
// below stays inside its node's directory.
import * as path from 'node:path';

export function catalogPath(dataRoot: string): string {
  return path.join(dataRoot, 'catalog.db');
}

export function defaultNodeDir(dataRoot: string, nodeId: string): string {
  return path.join(dataRoot, 'nodes', nodeId);
}

/** The live shard file on its owning node. */
export function shardFile(nodeDir: string, org: string, ns: string): string {
  return path.join(nodeDir, `${org}.${ns}.db`);
}

/** The one in-flight copy of a shard on a destination (one migration per shard at a time). */
export function incomingFile(nodeDir: string, org: string, ns: string): string {
  return path.join(nodeDir, `${org}.${ns}.db.incoming`);
}

/** A source kept after a move by the retention option: not a ".db" name, so never reported as a shard. */
export function retainedFile(nodeDir: string, org: string, ns: string, jobId: string): string {
  const safeJob = jobId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  return path.join(nodeDir, `${org}.${ns}.db.moved-${safeJob}`);
}
