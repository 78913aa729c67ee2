// Runs one long read-only SQLite check off the main thread, so the activity that
// waits for it keeps heartbeating (a blocked event loop sends no heartbeats and the
// server would declare a healthy worker dead). Plain JS: threads do not inherit tsx.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const Database = require('better-sqlite3');

function fingerprint(db) {
  return db
    .transaction(() => {
      const { seq } = db.prepare('SELECT seq FROM shard WHERE singleton = 1').get();
      const hash = createHash('sha256');
      const separator = Buffer.from([0]);
      let rows = 0;
      for (const [id, title, body] of db.prepare('SELECT id, title, body FROM tasks ORDER BY id').raw().iterate()) {
        hash.update(id).update(separator).update(title).update(separator);
        if (body) hash.update(body);
        hash.update(separator);
        rows++;
      }
      return { seq, rows, checksum: `sha256:${hash.digest('hex')}` };
    })
    .deferred();
}

function quickCheck(db) {
  try {
    return db.pragma('quick_check').map((r) => r.quick_check);
  } catch (err) {
    return [err.message];
  }
}

const { file, task } = workerData;
let db;
try {
  db = new Database(file, { fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  const result = {};
  if (task.includes('quickCheck')) result.quickCheck = quickCheck(db);
  if (task.includes('fingerprint') && (!result.quickCheck || result.quickCheck.join() === 'ok')) {
    result.fingerprint = fingerprint(db);
  }
  parentPort.postMessage({ ok: true, result });
} catch (err) {
  parentPort.postMessage({ ok: false, message: err.message, code: err.code });
} finally {
  db?.close();
}
