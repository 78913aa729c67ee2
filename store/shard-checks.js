// The two reads that prove a shard file sound, shared by the check threads
// (sqlite-thread-worker.js) and a small snapshot proven on its pin's own connection
// (snapshot-proof.ts InlineProof). Plain JS: threads do not inherit tsx.
'use strict';
const { recomputeContentSum } = require('./content-sum');
const { YoungGc } = require('./young-gc');

/**
 * The content scan collects its dead row Buffers every this many bytes (young-gc.js):
 * a scan and a quick_check of a 256 MiB shard left the agent +75 MiB RSS (+120 MiB at
 * peak) without it, +18 MiB (+61 MiB) with it, in the same time.
 */
const COLLECT_EVERY = 2 * 1024 * 1024;

/** SQLite's quick_check rows (['ok'] when sound); a file too broken to check reports why as its problem. */
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
      const collector = new YoungGc(COLLECT_EVERY);
      const actual = recomputeContentSum(db, { onBodyBytes: (bytes) => collector.add(bytes) });
      return { seq: stored.seq, storedRows: stored.rows, storedSum: stored.sum, rows: actual.rows, sum: actual.sum };
    })
    .deferred(); // inside a joined snapshot's (or a pin's) read transaction this is a savepoint of it
}

module.exports = { quickCheck, contentSum };
