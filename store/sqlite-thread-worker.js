// Runs one long read-only SQLite check off the main thread, so the activity that
// waits for it keeps heartbeating (a blocked event loop sends no heartbeats and the
// server would declare a healthy worker dead). Plain JS: threads do not inherit tsx.
//
// Two ways to run. Alone (`join` unset): open the file, check whatever is committed
// now, exit. Joined to a snapshot pin (`join` set, store/snapshot-proof.ts): open the
// file and wait; `begin` starts a read transaction and answers on `port`, ringing
// `bell` (the pin's thread waits for it without yielding, so no writer of its process
// gets in between); `end` ends it (the pin's attempt failed and is retried); `run`
// checks inside the transaction that was begun, so the check reads exactly the
// snapshot the pin holds.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');
const { contentSum, quickCheck } = require('./shard-checks');

function runTask(db, task) {
  return task === 'quickCheck' ? { quickCheck: quickCheck(db) } : { contentSum: contentSum(db) };
}

/**
 * Each check reads every page once: better-sqlite3's default 16 MB page cache only
 * holds memory (13 MiB of agent peak per 256 MiB checked, issue 15); 2 MB is no slower.
 */
function open(file, options) {
  const db = new Database(file, { ...options, fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  db.pragma('cache_size = -2000');
  return db;
}

function failure(err) {
  return { ok: false, message: err.message, code: err.code };
}

const { file, task, join, bell, port } = workerData;

if (!join) {
  let db;
  try {
    db = open(file, {});
    parentPort.postMessage({ ok: true, result: runTask(db, task) });
  } catch (err) {
    parentPort.postMessage(failure(err));
  } finally {
    db?.close();
  }
} else {
  let db;
  try {
    db = open(file, { readonly: true });
    parentPort.postMessage({ ready: true });
  } catch (err) {
    parentPort.postMessage({ ready: false, ...failure(err) });
    db?.close();
    parentPort.close();
    port.close();
  }
  if (db?.open) {
    parentPort.on('message', (message) => {
      try {
        if (message.op === 'begin') {
          let reply;
          try {
            db.exec('BEGIN');
            // The first read starts the read transaction (BEGIN alone is deferred).
            const { seq } = db.prepare('SELECT seq FROM shard WHERE singleton = 1').get();
            reply = { begun: true, seq };
          } catch (err) {
            reply = { begun: false, ...failure(err) };
          }
          port.postMessage(reply);
          Atomics.add(bell, 0, 1);
          Atomics.notify(bell, 0);
        } else if (message.op === 'end') {
          if (db.inTransaction) db.exec('COMMIT');
          parentPort.postMessage({ ended: true });
        } else if (message.op === 'run') {
          if (!db.inTransaction) throw new Error('the check was asked to run outside the pinned snapshot');
          parentPort.postMessage({ ok: true, result: runTask(db, task) });
          db.exec('COMMIT');
          db.close();
          parentPort.close();
          port.close();
        }
      } catch (err) {
        parentPort.postMessage({ ended: false, ...failure(err) });
        if (message.op === 'run') {
          db.close();
          parentPort.close();
          port.close();
        }
      }
    });
  }
}
