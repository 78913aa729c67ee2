// Figure 1 — copy throughput. A whole offline move (Temporal + copy + verification)
// against `cp` + fsync of the same file on the same disk, interleaved rep by rep in
// rotating order. The move's parts are timed from its history (per activity) and by
// re-running the product's own copy and check functions on the same file, which
// says where the time goes: copy, quick_check, checksums.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyFileFsync, cpFsync, removeCopy, seconds, sha256File, sqliteBackup } from '../lib/baselines';
import type { BenchEnv } from '../lib/env';
import { move } from '../lib/move';
import { runStep, STEP_NAMES, type StepName } from '../lib/product-steps';
import type { ShardPool } from '../lib/shards';
import { pairedRatios, spread, type Spread } from '../lib/stats';

export interface SizeSpec {
  label: string;
  bytes: number;
  reps: number;
}

export const BASELINES = ['cp', 'copyFile', 'backup', 'sha256'] as const;

export interface CopyRun {
  label: string;
  fileBytes: number;
  reps: number;
  /** Seconds per rep. */
  seconds: Record<(typeof BASELINES)[number] | 'move' | 'jobSpan', number[]>;
  /** Seconds per rep for each activity (by type, from history), plus 'temporal' (everything else inside the workflow) and 'client'. */
  phases: Record<string, number[]>;
  /** Seconds per rep for each of the product's steps run alone on the same file. */
  steps: Record<StepName, number[]>;
  /** Each figure over the `cp` time of the same rep. */
  ratios: Record<'move' | 'copyFile' | 'backup' | 'sha256', Spread>;
  /** Fraction of the move that its verification steps take when run alone: quick_check of the source + verifying the copy. */
  verificationShare: Spread;
}

export async function copyFigure(env: BenchEnv, pool: ShardPool, taskQueue: string, sizes: SizeSpec[]): Promise<CopyRun[]> {
  const migrations = env.migrations(taskQueue);
  const scratch = path.join(env.scratch, 'baseline');
  fs.mkdirSync(scratch, { recursive: true });
  const out: CopyRun[] = [];
  for (const size of sizes) {
    const ref = await pool.ofSize(size.bytes, size.label);
    const run: CopyRun = {
      label: size.label,
      fileBytes: fs.statSync((await pool.ownerFile(ref))).size,
      reps: size.reps,
      seconds: { cp: [], copyFile: [], backup: [], sha256: [], move: [], jobSpan: [] },
      phases: { temporal: [], client: [] },
      steps: { chunkedCopy: [], quickCheck: [], verifyCopy: [] },
      ratios: {} as CopyRun['ratios'],
      verificationShare: spread([]),
    };
    const copyTo = path.join(scratch, 'copy.db');
    const steps: Record<string, () => Promise<unknown>> = {
      cp: async () => {
        const file = await pool.ownerFile(ref);
        run.seconds.cp.push(await seconds(() => cpFsync(file, copyTo)));
      },
      copyFile: async () => {
        const file = await pool.ownerFile(ref);
        run.seconds.copyFile.push(await seconds(() => copyFileFsync(file, copyTo)));
      },
      backup: async () => {
        const file = await pool.ownerFile(ref);
        run.seconds.backup.push(await seconds(() => sqliteBackup(file, copyTo)));
      },
      sha256: async () => {
        const file = await pool.ownerFile(ref);
        run.seconds.sha256.push(await seconds(() => sha256File(file)));
      },
      move: async () => {
        const sample = await move(migrations, ref, (await pool.destination(ref)));
        const b = sample.breakdown;
        run.seconds.move.push(sample.wallMs / 1000);
        run.seconds.jobSpan.push((Date.parse(sample.job.finishedAt!) - Date.parse(sample.job.startedAt)) / 1000);
        for (const [activity, ms] of Object.entries(b.perActivity)) (run.phases[activity] ??= []).push(ms / 1000);
        run.phases.temporal.push((b.total - b.activityRun) / 1000);
        run.phases.client.push((sample.wallMs - b.total) / 1000);
      },
      steps: async () => {
        // In product order, on a fresh copy of the live file: copy, then the checks read it warm.
        const file = await pool.ownerFile(ref);
        for (const step of Object.keys(STEP_NAMES) as StepName[]) {
          run.steps[step].push(await seconds(() => runStep(step, file, copyTo)));
        }
      },
    };
    const order = Object.keys(steps);
    for (let rep = 0; rep < size.reps; rep++) {
      // Rotate the order so no step always runs first (cold) or right after a big write.
      const rotated = [...order.slice(rep % order.length), ...order.slice(0, rep % order.length)];
      for (const name of rotated) {
        await steps[name]();
        removeCopy(copyTo);
      }
      const s = run.seconds;
      console.log(
        `  ${size.label} rep ${rep + 1}/${size.reps}: move ${s.move[rep].toFixed(2)} s, cp ${s.cp[rep].toFixed(2)} s (×${(s.move[rep] / s.cp[rep]).toFixed(2)})`,
      );
    }
    const cp = run.seconds.cp;
    run.ratios = {
      move: spread(pairedRatios(run.seconds.move, cp)),
      copyFile: spread(pairedRatios(run.seconds.copyFile, cp)),
      backup: spread(pairedRatios(run.seconds.backup, cp)),
      sha256: spread(pairedRatios(run.seconds.sha256, cp)),
    };
    run.verificationShare = spread(run.seconds.move.map((m, i) => (run.steps.quickCheck[i] + run.steps.verifyCopy[i]) / m));
    out.push(run);
  }
  return out;
}
