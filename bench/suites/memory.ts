// Figure 5 — memory. Peak RSS (VmHWM) of a worker process while it moves a large
// shard, next to a smaller one to show whether it grows with size. The worker is
// fresh and warmed by one small move; its peak is reset (clear_refs) right before
// each move, so start-up (bundling the workflows) is reported on its own, and the
// growth over the RSS just before the move is what the move itself costs.
import * as fs from 'node:fs';
import type { BenchEnv } from '../lib/env';
import { move } from '../lib/move';
import { resetPeakRss, sampleRss, statusBytes } from '../lib/proc';
import type { ShardPool, ShardRef } from '../lib/shards';
import { spread, type Spread } from '../lib/stats';
import type { SizeSpec } from './copy';

export interface MemoryCell {
  label: string;
  fileBytes: number;
  reps: number;
  /** VmRSS right before each move. */
  idleRssBytes: number[];
  /** VmHWM during each move (reset before it). */
  movePeakBytes: number[];
  peak: Spread;
  /** Peak minus the RSS right before the move. */
  growth: Spread;
  moveSeconds: number[];
  /** RSS over time (s, bytes) of the first move, for the chart. */
  trace: { t: number; rss: number }[];
}

export interface MemoryRun {
  /** VmHWM after start-up and one small warm-up move. */
  startupPeakBytes: number;
  cells: MemoryCell[];
}

export async function memoryFigure(env: BenchEnv, pool: ShardPool, sizes: SizeSpec[]): Promise<MemoryRun> {
  const refs: ShardRef[] = [];
  for (const size of sizes) refs.push(await pool.ofSize(size.bytes, size.label));
  const worker = await env.startWorker('bench-memory');
  const migrations = env.migrations(worker.taskQueue);
  const warm = await pool.ofSize(0, 'warm-up');
  await move(migrations, warm, (await pool.destination(warm)));
  const run: MemoryRun = { startupPeakBytes: statusBytes(worker.pid, 'VmHWM'), cells: [] };
  const files = await Promise.all(refs.map((ref) => pool.ownerFile(ref)));
  const cells = sizes.map((size, i) => ({
    label: size.label,
    fileBytes: fs.statSync(files[i]).size,
    reps: size.reps,
    idleRssBytes: [] as number[],
    movePeakBytes: [] as number[],
    peak: spread([]),
    growth: spread([]),
    moveSeconds: [] as number[],
    trace: [] as { t: number; rss: number }[],
  }));
  const rounds = Math.max(...sizes.map((s) => s.reps));
  for (let rep = 0; rep < rounds; rep++) {
    for (const [i, cell] of cells.entries()) {
      if (rep >= cell.reps) continue;
      const idle = statusBytes(worker.pid, 'VmRSS');
      resetPeakRss(worker.pid);
      const sampler = sampleRss(worker.pid);
      const sample = await move(migrations, refs[i], (await pool.destination(refs[i])));
      const trace = sampler.stop();
      cell.idleRssBytes.push(idle);
      cell.movePeakBytes.push(statusBytes(worker.pid, 'VmHWM'));
      cell.moveSeconds.push(sample.wallMs / 1000);
      if (rep === 0) cell.trace = trace;
      console.log(
        `  ${cell.label} move ${rep + 1}/${cell.reps}: peak RSS ${mib(cell.movePeakBytes[rep])} MiB (${mib(idle)} MiB before) in ${(sample.wallMs / 1000).toFixed(1)} s`,
      );
    }
  }
  for (const cell of cells) {
    cell.peak = spread(cell.movePeakBytes);
    cell.growth = spread(cell.movePeakBytes.map((peak, i) => peak - cell.idleRssBytes[i]));
  }
  run.cells = cells;
  await worker.stop();
  return run;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
