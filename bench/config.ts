// What each mode measures and how often. --quick keeps every figure but shrinks sizes
// and repetitions so it ends in a few minutes; the report says what it left out.
import { GiB, MiB } from './lib/data';
import type { SizeSpec } from './suites/copy';
import type { FootprintConfig } from './suites/footprint';

export interface BenchConfig {
  copySizes: SizeSpec[];
  pauseSizes: SizeSpec[];
  /** Steady load for the pause figure: writer processes × puts per second each. */
  pauseLoad: { writers: number; ratePerWriter: number };
  orchestrationReps: number;
  fleetShards: number;
  fleetRounds: number;
  memorySizes: SizeSpec[];
  /** Moves between node agent processes (loopback and a shaped link) and their memory. */
  agentsSize: SizeSpec;
  /** Memory of one coordinator and two agent processes: a large move, then many small ones. */
  footprint: FootprintConfig;
  notes: string[];
}

export const FULL: BenchConfig = {
  copySizes: [
    { label: '100 MiB', bytes: 100 * MiB, reps: 7 },
    { label: '1 GiB', bytes: GiB, reps: 5 },
  ],
  pauseSizes: [
    { label: '10 MiB', bytes: 10 * MiB, reps: 10 },
    { label: '100 MiB', bytes: 100 * MiB, reps: 8 },
    { label: '1 GiB', bytes: GiB, reps: 5 },
  ],
  pauseLoad: { writers: 2, ratePerWriter: 50 },
  orchestrationReps: 20,
  fleetShards: 500,
  fleetRounds: 2,
  memorySizes: [
    { label: '100 MiB', bytes: 100 * MiB, reps: 3 },
    { label: '2 GiB', bytes: 2 * GiB, reps: 3 },
  ],
  agentsSize: { label: '1 GiB', bytes: GiB, reps: 3 },
  footprint: { large: { label: '2 GiB', bytes: 2 * GiB, reps: 2 }, small: { label: '4 MiB', bytes: 4 * MiB, moves: 50 } },
  notes: ['fleet: two rounds of 500 empty-shard moves (A → B, then back), one coordinator, two node agents'],
};

export const QUICK: BenchConfig = {
  copySizes: [{ label: '100 MiB', bytes: 100 * MiB, reps: 3 }],
  pauseSizes: [
    { label: '10 MiB', bytes: 10 * MiB, reps: 3 },
    { label: '100 MiB', bytes: 100 * MiB, reps: 3 },
  ],
  pauseLoad: { writers: 2, ratePerWriter: 50 },
  orchestrationReps: 6,
  fleetShards: 50,
  fleetRounds: 2,
  memorySizes: [{ label: '100 MiB', bytes: 100 * MiB, reps: 2 }],
  agentsSize: { label: '64 MiB', bytes: 64 * MiB, reps: 1 },
  footprint: { large: { label: '256 MiB', bytes: 256 * MiB, reps: 1 }, small: { label: '4 MiB', bytes: 4 * MiB, moves: 20 } },
  notes: [
    '--quick: copy throughput at 100 MiB only (3 reps), no 1 GiB shard',
    '--quick: write pause at 10 MiB and 100 MiB only (3 moves each)',
    '--quick: fleet of 50 empty shards (not 500), two rounds (A → B, then back)',
    '--quick: memory measured on the 100 MiB shard only (not 2 GiB)',
    '--quick: moves between node agents on a 64 MiB shard, one move each on loopback and on the shaped link (not 1 GiB × 3)',
    '--quick: footprint on one 256 MiB move (not 2 GiB × 2) and 20 small moves (not 50)',
  ],
};
