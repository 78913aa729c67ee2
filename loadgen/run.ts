// The whole load scenario in one call: N writer processes put steadily while a shard
// moves back and forth K times; then the checker proves nothing acknowledged was lost
// and nothing refused was applied. Each move is a marked window in the writers'
// report, so its longest write gap sits next to the Job's own pauseMs.
import type { MigrationClient } from '../client';
import type { MigrationMode } from '../common/job';
import { checkWrites, type CheckResult } from './check';
import { moveBackAndForth, type MoveRecord } from './moves';
import { startWriters, type StartWritersOptions, type WriterReport } from './writers';

export interface LoadedMovesOptions extends StartWritersOptions {
  migrations: MigrationClient;
  nodes: [string, string];
  moves: number;
  mode?: MigrationMode;
  maxPauseMs?: number;
  /** Acknowledgements (per writer) to wait for before the first move and after the last. Default 5. */
  settleAcks?: number;
  onMove?: (move: MoveRecord, index: number) => void;
}

export interface LoadedMovesResult {
  moves: MoveRecord[];
  writes: WriterReport;
  check: CheckResult;
}

export async function moveUnderLoad(opts: LoadedMovesOptions): Promise<LoadedMovesResult> {
  const writers = await startWriters(opts);
  const settle = (opts.settleAcks ?? 5) * opts.writers;
  let moves: MoveRecord[];
  try {
    await writers.waitForAcks(settle);
    moves = await moveBackAndForth({ ...opts, times: opts.moves });
    moves.forEach((m, i) => writers.mark(`move ${i + 1} ${m.job.from} → ${m.job.to}`, m.fromMs, m.toMs));
    // Writes flowing again after the last move show the writers found the final owner.
    await writers.waitForAcks(settle);
  } catch (err) {
    await writers.stop().catch(() => undefined);
    throw err;
  }
  const writes = await writers.stop();
  const check = await checkWrites({ dataRoot: opts.dataRoot, catalog: opts.catalog, org: opts.org, ns: opts.ns, logs: writes.logs });
  return { moves, writes, check };
}
