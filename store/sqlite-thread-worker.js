// Runs long read-only SQLite checks off the main thread, so the activity that waits
// for one keeps heartbeating (a blocked event loop sends no heartbeats and the server
// would declare a healthy worker dead). One check at a time per thread; the thread
// stays for the next (sqlite-thread.ts keeps idle ones briefly). Plain JS: threads do
// not inherit tsx.
'use strict';
const { parentPort } = require('node:worker_threads');
const Database = require('better-sqlite3');
const { recomputeContentSum } = require('./content-sum');

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
      const actual = recomputeContentSum(db);
      return { seq: stored.seq, storedRows: stored.rows, storedSum: stored.sum, rows: actual.rows, sum: actual.sum };
    })
    .deferred();
}

/** One check: the thread opens the file, runs it, closes it, and waits for the next. */
function run({ file, task }) {
  let db;
  try {
    db = new Database(file, { fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    const result = task === 'quickCheck' ? { quickCheck: quickCheck(db) } : { contentSum: contentSum(db) };
    parentPort.postMessage({ ok: true, result });
  } catch (err) {
    parentPort.postMessage({ ok: false, message: err.message, code: err.code });
  } finally {
    db?.close();
  }
}

parentPort.on('message', run);
