// Runs one long read-only SQLite check off the main thread, so the activity that
// waits for it keeps heartbeating (a blocked event loop sends no heartbeats and the
// server would declare a healthy worker dead). Plain JS: threads do not inherit tsx.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');
const { recomputeContentSum } = require('./content-sum');
const { youngGc } = require('./young-gc');

/**
 * The content scan collects its dead row Buffers every this many bytes (young-gc.js):
 * a scan and a quick_check of a 256 MiB shard left the agent +75 MiB RSS (+120 MiB at
 * peak) without it, +18 MiB (+61 MiB) with it, in the same time.
 */
const COLLECT_EVERY = 2 * 1024 * 1024;

function quickCheck(db) {
  try {
    return db.pragma('quick_check').map((r) => r.quick_check);
  } catch (err) {
    return [err.message];
  }
}

/** The rows as they are, next to what the shard's state row claims about them. */
function contentSum(db) {
  return db
    .transaction(() => {
      const stored = db.prepare('SELECT seq, row_count AS rows, content_sum AS sum FROM shard WHERE singleton = 1').get();
      const actual = recomputeContentSum(db, { collectEvery: COLLECT_EVERY, everyBytes: youngGc });
      return { seq: stored.seq, storedRows: stored.rows, storedSum: stored.sum, rows: actual.rows, sum: actual.sum };
    })
    .deferred();
}

const { file, task } = workerData;
let db;
try {
  db = new Database(file, { fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  // Each check reads every page once: better-sqlite3's default 16 MB page cache only
  // holds memory (13 MiB of agent peak per 256 MiB checked, issue 15); 2 MB is no slower.
  db.pragma('cache_size = -2000');
  const result = task === 'quickCheck' ? { quickCheck: quickCheck(db) } : { contentSum: contentSum(db) };
  parentPort.postMessage({ ok: true, result });
} catch (err) {
  parentPort.postMessage({ ok: false, message: err.message, code: err.code });
} finally {
  db?.close();
}
