// "Nothing changed", made exact: the sha256 of every file under a directory.
//
// SQLite makes a plain byte comparison unfair in two ways, so each snapshot first
// runs `PRAGMA wal_checkpoint(TRUNCATE)` on every database it finds:
//   - committed data may sit in the -wal file or in the main file, depending only on
//     when a checkpoint ran; after the checkpoint it is all in the main file, whose
//     header also carries a change counter, so any write shows up as different bytes;
//   - -wal and -shm files come and go as connections open and close. An empty -wal
//     counts as absent, and -shm (the shared-memory index that even readers write to,
//     rebuilt from the WAL) is left out.
// Directories are compared by the names in them; modification times are ignored (the
// destination's write probe touches the directory's mtime and nothing else).
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Snapshot = Record<string, string>;

export function snapshotTree(root: string): Snapshot {
  const snapshot: Snapshot = {};
  const visit = (dir: string) => {
    // Checkpoint first: closing the last connection may remove a -wal listed before it.
    for (const name of fs.readdirSync(dir)) if (name.endsWith('.db') && fs.statSync(path.join(dir, name)).isFile()) checkpoint(path.join(dir, name));
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(root, full);
      if (entry.isDirectory()) {
        snapshot[`${rel}/`] = 'dir';
        visit(full);
      } else if (entry.isFile()) {
        if (entry.name.endsWith('-shm')) continue;
        if (entry.name.endsWith('-wal') && fs.statSync(full).size === 0) continue;
        snapshot[rel] = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
      } else {
        snapshot[rel] = entry.isSymbolicLink() ? `link -> ${fs.readlinkSync(full)}` : 'other';
      }
    }
  };
  if (fs.existsSync(root)) visit(root);
  return snapshot;
}

/** Folds the WAL into the main file; a file that is not a sound database is hashed as it is. */
function checkpoint(file: string): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // not a database (a squatter file) or a damaged one: its bytes are compared as they are
  } finally {
    db?.close();
  }
}
