// What a move's copy is compared with, on the same file and disk in the same run:
// `cp` + fsync is the yardstick (what an operator would do by hand with writes
// stopped); copyFile, SQLite's backup API and a sha256 pass are context.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { fsyncDir, fsyncFile } from '../../store/durable-fs';

const exec = promisify(execFile);

export type Timed = () => Promise<void>;

export async function seconds(fn: Timed): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

/** `cp`, then fsync of the copy and of its directory: a durable copy. */
export async function cpFsync(source: string, dest: string): Promise<void> {
  await exec('cp', ['--reflink=never', source, dest]);
  durable(dest);
}

/** Node's copyFile (copy_file_range in the kernel), then the same fsyncs. */
export async function copyFileFsync(source: string, dest: string): Promise<void> {
  await fs.promises.copyFile(source, dest);
  durable(dest);
}

/** better-sqlite3's online backup with its default stepping, then the same fsyncs. */
export async function sqliteBackup(source: string, dest: string): Promise<void> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    await db.backup(dest);
  } finally {
    db.close();
  }
  durable(dest);
}

/** One sha256 pass over the file: reading and hashing only, nothing written. */
export async function sha256File(source: string): Promise<void> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(source, { highWaterMark: 8 * 1024 * 1024 })) hash.update(chunk as Buffer);
  hash.digest();
}

function durable(file: string): void {
  fsyncFile(file);
  fsyncDir(path.dirname(file));
}

export function removeCopy(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(file + suffix, { force: true });
}
