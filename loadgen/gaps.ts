// What a writer sees of a move: gaps between acknowledged writes. The longest gap
// overlapping a move is the write pause a client felt (plus one write's latency).
export interface Gap {
  /** The acknowledgement before the gap and the one after it (epoch ms). */
  fromMs: number;
  toMs: number;
  ms: number;
}

const NO_GAP: Gap = { fromMs: NaN, toMs: NaN, ms: 0 };

/**
 * The longest interval between consecutive acknowledgements (sorted epoch ms, all
 * writers merged) that overlaps [fromMs, toMs]; a zero gap when there is none.
 */
export function longestGap(acks: readonly number[], fromMs = -Infinity, toMs = Infinity): Gap {
  let best = NO_GAP;
  for (let i = 1; i < acks.length; i++) {
    const [a, b] = [acks[i - 1], acks[i]];
    if (b < fromMs || a > toMs) continue;
    if (b - a > best.ms) best = { fromMs: a, toMs: b, ms: b - a };
  }
  return best;
}
