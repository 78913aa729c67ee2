// The fsync steps a durable rename needs, named so each call site says why.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Forces a file's data and metadata to disk. */
export function fsyncFile(filePath: string): void {
  fsyncPath(filePath, 'r+');
}

/** Makes a rename or unlink in `dir` survive a power loss. */
export function fsyncDir(dir: string): void {
  fsyncPath(dir, 'r');
}

function fsyncPath(target: string, flags: string): void {
  const fd = fs.openSync(target, flags);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes a SQLite database together with its -wal and -shm side files; true if anything was removed. */
export function removeDatabaseFiles(dbPath: string): boolean {
  let removed = false;
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    try {
      fs.unlinkSync(dbPath + suffix);
      removed = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (removed) fsyncDir(path.dirname(dbPath));
  return removed;
}

export function fileSize(filePath: string): number | undefined {
  try {
    return fs.statSync(filePath).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
