// Where things live under the data root. Ids are validated (common/validation) before
// they get here and contain no ".", so "<org>.<ns>.db" is unambiguous and every name
// below stays inside its node's directory.
import * as path from 'node:path';
import { ID_PATTERN, parseId } from '../common/validation';

/** The last line of defence: a name that could leave its directory never becomes a path (plain test first: this runs per write). */
function names(...ids: Array<[string, string]>): string[] {
  return ids.map(([what, value]) => (ID_PATTERN.test(value) ? value : parseId(what, value)));
}

export function defaultNodeDir(dataRoot: string, nodeId: string): string {
  const [node] = names(['node', nodeId]);
  return path.join(dataRoot, 'nodes', node);
}

/** The live shard file on its owning node. */
export function shardFile(nodeDir: string, org: string, ns: string): string {
  const [o, n] = names(['org', org], ['namespace', ns]);
  return path.join(nodeDir, `${o}.${n}.db`);
}

/** The one in-flight copy of a shard on a destination (one migration per shard at a time). */
export function incomingFile(nodeDir: string, org: string, ns: string): string {
  return `${shardFile(nodeDir, org, ns)}.incoming`;
}

/** A source kept after a move by the retention option: not a ".db" name, so never reported as a shard. */
export function retainedFile(nodeDir: string, org: string, ns: string, jobId: string): string {
  const safeJob = jobId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  return `${shardFile(nodeDir, org, ns)}.moved-${safeJob}`;
}
