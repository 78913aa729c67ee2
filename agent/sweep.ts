// A node's own garbage collection: what moves left here that the catalog says is not
// this node's. A destination that died mid-move comes back to find the move rolled
// back without it; this removes what it left (docs/NODES.md, "Sweep"). Only files a
// move made are touched: `.incoming` copies, copies still held by a job, and old
// sources marked moved — and only while no move from or to this node claims the
// shard. A live file of unknown provenance (an operator's, a restored backup) is left
// alone: a move to this node then refuses it, naming it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Catalog } from '../catalog/catalog';
import { removeDatabaseFiles } from '../store/durable-fs';
import { openShardFile, readState } from '../store/shard-file';

/** `<org>.<ns>.db` and `<org>.<ns>.db.incoming`: ids contain no "." (common/ids.ts). */
const SHARD_FILE = /^([a-z0-9][a-z0-9_-]*)\.([a-z0-9][a-z0-9_-]*)\.db(\.incoming)?$/;

export async function sweepNode(catalog: Catalog, nodeId: string, dir: string): Promise<string[]> {
  const claims = new Map((await catalog.listClaims()).map((c) => [`${c.org}/${c.ns}`, c]));
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const match = SHARD_FILE.exec(name);
    if (!match) continue;
    const [, org, ns, incoming] = match;
    const shard = await catalog.findShard(org, ns);
    if (!shard || shard.owner === nodeId) continue;
    const claim = claims.get(`${org}/${ns}`);
    if (claim && (claim.to === nodeId || claim.from === nodeId)) continue;
    const file = path.join(dir, name);
    if (!incoming && !leftByAMove(file)) continue;
    removeDatabaseFiles(file);
    removed.push(name);
  }
  return removed;
}

/** A copy installed for a move (held by its job) or a source retired by one (marked moved). */
function leftByAMove(file: string): boolean {
  try {
    const db = openShardFile(file, { readonly: true });
    try {
      const state = readState(db);
      return state.lockedBy !== null || state.state === 'moved';
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}
