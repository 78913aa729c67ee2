// A young-generation collection on demand, for the loops that stream a shard's bytes
// through Buffers (the copy's two ends, the content scan's rows). Each Buffer's bytes
// are malloc'd outside the V8 heap; dead ones are collected only when the young
// generation fills with the small objects that point at them, or once ~64 MiB of such
// memory has piled up — and malloc keeps that high-water mark as RSS long after (issue
// 15: +60–75 MiB per agent after one move). Collecting every few MiB streamed keeps it
// at a few MiB; a young collection with the agent's small semi-spaces takes well under
// a millisecond. Plain JS: sqlite-thread-worker.js loads it too.
//
// `gc` is taken with --expose-gc set only while one context is made (V8 flags are
// process-wide), then unset; where that is refused, collect() does nothing.
'use strict';
const v8 = require('node:v8');
const vm = require('node:vm');

let gc;

/** One young-generation collection now; a no-op without `gc`. */
function youngGc() {
  if (gc === undefined) {
    gc = null;
    try {
      v8.setFlagsFromString('--expose-gc');
      try {
        const fn = vm.runInNewContext('gc');
        if (typeof fn === 'function') gc = fn;
      } finally {
        v8.setFlagsFromString('--no-expose-gc');
      }
    } catch {
      gc = null;
    }
  }
  if (gc) gc({ type: 'minor' });
}

/** Counts bytes streamed and collects the young generation every `everyBytes` of them. */
class YoungGc {
  constructor(everyBytes) {
    this.everyBytes = everyBytes;
    this.pending = 0;
  }

  add(bytes) {
    this.pending += bytes;
    if (this.pending < this.everyBytes) return;
    this.pending = 0;
    youngGc();
  }
}

module.exports = { YoungGc };
