// Damage done to a shard file on disk, the way a bad disk would, for the tests that prove it is found.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';

/** Damages a b-tree page in the middle of the shard file, the way a bad disk would. */
export function damageMiddlePage(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const header = Buffer.alloc(100);
    fs.readSync(fd, header, 0, 100, 0);
    const pageSize = header.readUInt16BE(16) === 1 ? 65536 : header.readUInt16BE(16);
    const pages = Math.floor(fs.fstatSync(fd).size / pageSize);
    assert.ok(pages > 8, `a shard of ${pages} pages is too small to damage in the middle`);
    // The page header and its cell pointers: the b-tree can no longer be walked.
    fs.writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, Math.floor(pages / 2) * pageSize);
  } finally {
    fs.closeSync(fd);
  }
}
