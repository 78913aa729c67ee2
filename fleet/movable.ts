// Which shards a plan may move: not excluded by the operator, not held by a running
// move, and with a file its owner's agent could read. The rest stay put, and the plan
// says so.
import type { InventoryShard } from './inventory';

export interface Sorted {
  movable: Array<InventoryShard & { bytes: number }>;
  /** One line per reason a shard stays put. */
  notes: string[];
  staying: number;
}

export function sortOut(shards: InventoryShard[], exclude: string[] = []): Sorted {
  const excluded = new Set(exclude);
  const movable: Sorted['movable'] = [];
  const kept: Record<'excluded' | 'claimed' | 'unreadable', string[]> = { excluded: [], claimed: [], unreadable: [] };
  for (const shard of shards) {
    const name = `${shard.org}/${shard.ns}`;
    if (excluded.has(name)) kept.excluded.push(name);
    else if (shard.claimedBy) kept.claimed.push(`${name} (job ${shard.claimedBy})`);
    else if (shard.bytes === null) kept.unreadable.push(name);
    else movable.push({ ...shard, bytes: shard.bytes });
  }
  const notes: string[] = [];
  if (kept.excluded.length) notes.push(`left where they are (--exclude): ${list(kept.excluded)}`);
  if (kept.claimed.length) notes.push(`being moved by another job, left alone: ${list(kept.claimed)}`);
  if (kept.unreadable.length) notes.push(`their owner could not read their file, left alone (see "tasksd shards"): ${list(kept.unreadable)}`);
  return { movable, notes, staying: kept.excluded.length + kept.claimed.length + kept.unreadable.length };
}

/** Largest first, then by name: the same inventory always gives the same plan. */
export function largestFirst<T extends { org: string; ns: string; bytes: number }>(shards: T[]): T[] {
  return [...shards].sort((a, b) => b.bytes - a.bytes || a.org.localeCompare(b.org) || a.ns.localeCompare(b.ns));
}

function list(names: string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}
