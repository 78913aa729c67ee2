// Where a node's directory may be (`tasksd node add <id> --dir PATH`). The rule:
//   - PATH is absolute, or relative to the current directory; printable, at most 1024 characters;
//   - if it exists it is a directory (a missing one is created);
//   - it is not the data root, an ancestor of it, or the data root's `nodes` folder
//     (they hold the catalog or the other nodes' default directories);
//   - it is neither equal to, inside, nor around another node's directory, because
//     two nodes sharing files would make "exactly one owner" meaningless.
// Paths are compared after resolving symlinks, so a link cannot dodge the rule.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../common/errors';
import { parseNodeDir, quote } from '../common/validation';
import type { NodeRecord } from '../catalog/catalog';

/** Checks `dir` for a new node and returns it resolved against the current directory. */
export function checkNodeDir(dataRoot: string, dir: string, nodes: NodeRecord[]): string {
  const resolved = path.resolve(parseNodeDir(dir));
  const real = realPath(resolved);
  const root = realPath(dataRoot);
  const refuse = (why: string) =>
    new TasksdError(ErrorType.InvalidInput, `--dir ${quote(dir)} is not allowed: ${why}; pick a separate directory, e.g. under ${dataRoot}/nodes/`);

  if (fs.existsSync(real) && !fs.statSync(real).isDirectory()) throw refuse('it exists and is not a directory');
  if (within(root, real)) throw refuse('it is the data root or contains it');
  if (real === path.join(root, 'nodes')) throw refuse('it is the folder of the default node directories');
  for (const node of nodes) {
    const other = realPath(node.dir);
    if (other === real) throw new TasksdError(ErrorType.NodeExists, `directory ${quote(resolved)} already belongs to node ${node.id}`);
    if (within(real, other)) throw refuse(`it is inside node ${node.id}'s directory ${node.dir}`);
    if (within(other, real)) throw refuse(`it contains node ${node.id}'s directory ${node.dir}`);
  }
  return resolved;
}

/** True when `inner` is `outer` or below it. */
function within(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** The real path of `p`, resolving symlinks in the part of it that exists. */
function realPath(p: string): string {
  const missing: string[] = [];
  let existing = path.resolve(p);
  while (!fs.existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    missing.unshift(path.basename(existing));
    existing = parent;
  }
  return path.join(fs.realpathSync(existing), ...missing);
}
