// The shard's logical content checksum: the sum, mod 2^128, of a SHA-256-derived
// hash of every row. A sum does not depend on row order or page layout, and it can
// be kept up to date by each write (subtract the old row, add the new one), so the
// cut-over gate compares two stored values instead of scanning the shard under the
// lock. A full scan that recomputes it (recomputeContentSum) proves a file's rows
// match its stored value. Plain JS: the verification thread loads it too.
'use strict';
const { createHash } = require('node:crypto');

const MOD = 1n << 128n;
const SEPARATOR = Buffer.from([0]);
const ZERO = '0'.repeat(32);

function rowHash(id, title, body) {
  const digest = createHash('sha256').update(id).update(SEPARATOR).update(title).update(SEPARATOR);
  if (body) digest.update(body);
  return BigInt(`0x${digest.digest('hex').slice(0, 32)}`);
}

function toHex(value) {
  return value.toString(16).padStart(32, '0');
}

/** Adds (sign 1) or removes (sign -1) one row's hash from a stored sum. */
function adjust(sumHex, sign, id, title, body) {
  const next = (BigInt(`0x${sumHex}`) + BigInt(sign) * rowHash(id, title, body)) % MOD;
  return toHex(next < 0n ? next + MOD : next);
}

/**
 * Scans every row of `tasks` (in rowid order: no sort needed for a sum). `onBodyBytes`
 * is told each row body's size (the check threads collect their garbage by it:
 * shard-checks.js).
 */
function recomputeContentSum(db, options = {}) {
  const { onBodyBytes } = options;
  let sum = 0n;
  let rows = 0;
  for (const [id, title, body] of db.prepare('SELECT id, title, body FROM tasks').raw().iterate()) {
    sum += rowHash(id, title, body);
    rows++;
    if (body) onBodyBytes?.(body.length);
  }
  return { sum: toHex(sum % MOD), rows };
}

module.exports = { ZERO_SUM: ZERO, adjust, recomputeContentSum };
