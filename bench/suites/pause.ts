// Figure 2 — write pause. Offline and online moves of the same shard under the same
// steady write load (loadgen's writer processes): the longest gap between
// acknowledged writes across each move, against the longest gap of the same load in
// an equally long quiet window right after it. The Job's own pauseMs (lock → unlock,
// as the workflow records it) is reported beside it, and loadgen's checker proves no
// acknowledged write was lost on the way. An offline move's pause is the whole copy,
// so it is also set against `cp` + fsync of the same file, taken in the same rep
// (target ≤ 1.3× at 1 GiB).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MigrationMode } from '../../common/job';
import { checkWrites, longestGap, nowMs, startWriters, type CheckResult } from '../../loadgen';
import { cpFsync, removeCopy, seconds } from '../lib/baselines';
import type { BenchEnv } from '../lib/env';
import type { ActivitySpan } from '../lib/history';
import { move } from '../lib/move';
import type { ShardPool } from '../lib/shards';
import { pairedRatios, spread, type Spread } from '../lib/stats';
import type { SizeSpec } from './copy';

export interface PauseCell {
  mode: MigrationMode;
  label: string;
  reps: number;
  /** Per move, ms. */
  gapMs: number[];
  quietGapMs: number[];
  jobPauseMs: number[];
  moveSeconds: number[];
  /** The lock → unlock window split by the history, ms per move: activities between lock and unlock ('replay' = all of them, the copy too offline), unlock, and Temporal. */
  pauseParts: { replay: number[]; unlock: number[]; temporal: number[] };
  gap: Spread;
  jobPause: Spread;
  quietGap: Spread;
  /** Gap across the move over the quiet window's gap. */
  ratio: Spread;
  /** `cp` + fsync of the same file in the same rep, seconds (offline cells). */
  cpSeconds: number[];
  /** Longest gap over `cp` + fsync, per rep (offline cells). */
  overCp: Spread;
}

/** An offline move's longest write gap over `cp` + fsync of the same file. */
export const OFFLINE_PAUSE_OVER_CP = 1.3;

export interface PauseRun {
  writers: number;
  ratePerWriter: number;
  writer: string;
  cells: PauseCell[];
  /** loadgen's check after each size's moves: acknowledged writes all present, refused ones absent. */
  checks: ({ label: string } & Omit<CheckResult, 'problems'> & { problems: number })[];
}

export interface PauseLoad {
  writers: number;
  ratePerWriter: number;
}

const QUIET_CAP_MS = 10_000;

export async function pauseFigure(env: BenchEnv, pool: ShardPool, taskQueue: string, sizes: SizeSpec[], load: PauseLoad): Promise<PauseRun> {
  const migrations = env.migrations(taskQueue);
  const cells: PauseCell[] = [];
  const checks: PauseRun['checks'] = [];
  for (const size of sizes) {
    const ref = await pool.ofSize(size.bytes, size.label);
    const logDir = path.join(env.scratch, 'writes', ref.ns);
    const writers = await startWriters({ dataRoot: env.dataRoot, org: ref.org, ns: ref.ns, writers: load.writers, ratePerSec: load.ratePerWriter, logDir, bodyBytes: 256 });
    const gap = (from: number, to: number) => longestGap([...writers.acks].sort((a, b) => a - b), from, to).ms;
    const byMode = new Map<MigrationMode, PauseCell>();
    for (const mode of ['offline', 'online'] as const) {
      byMode.set(mode, { mode, label: size.label, reps: size.reps, gapMs: [], quietGapMs: [], jobPauseMs: [], moveSeconds: [], pauseParts: { replay: [], unlock: [], temporal: [] }, gap: spread([]), jobPause: spread([]), quietGap: spread([]), ratio: spread([]), cpSeconds: [], overCp: spread([]) });
    }
    const copyTo = path.join(env.scratch, 'baseline-pause', 'cp.db');
    fs.mkdirSync(path.dirname(copyTo), { recursive: true });
    try {
      for (let rep = 0; rep < size.reps; rep++) {
        const order: MigrationMode[] = rep % 2 === 0 ? ['offline', 'online'] : ['online', 'offline'];
        for (const mode of order) {
          const cell = byMode.get(mode)!;
          await writers.waitForAcks(5 * load.writers); // writes are flowing before the move starts
          const from = nowMs();
          const sample = await move(migrations, ref, (await pool.destination(ref)), mode);
          const to = nowMs();
          // The quiet window starts once the writer has surely found the new owner.
          await new Promise((r) => setTimeout(r, 250));
          const quietFrom = nowMs();
          await new Promise((r) => setTimeout(r, Math.min(to - from, QUIET_CAP_MS)));
          cell.gapMs.push(gap(from, to));
          cell.quietGapMs.push(gap(quietFrom, nowMs()));
          cell.jobPauseMs.push(sample.job.pauseMs ?? NaN);
          cell.moveSeconds.push(sample.wallMs / 1000);
          splitPause(sample.timeline.activities, cell.pauseParts);
          console.log(
            `  ${size.label} ${mode} rep ${rep + 1}/${size.reps}: longest write gap ${cell.gapMs.at(-1)!.toFixed(0)} ms ` +
              `(quiet ${cell.quietGapMs.at(-1)!.toFixed(0)} ms), Job pauseMs ${sample.job.pauseMs}`,
          );
        }
        // The baseline of the offline pause: the same file copied by hand, under the same writes.
        const offline = byMode.get('offline')!;
        offline.cpSeconds.push(await seconds(async () => cpFsync(await pool.ownerFile(ref), copyTo)));
        removeCopy(copyTo);
        console.log(`    cp + fsync ${offline.cpSeconds.at(-1)!.toFixed(2)} s: offline gap ×${(offline.gapMs.at(-1)! / 1000 / offline.cpSeconds.at(-1)!).toFixed(2)} (target ≤ ${OFFLINE_PAUSE_OVER_CP}× at 1 GiB)`);
      }
    } finally {
      await writers.stop();
    }
    const { problems, ...check } = await checkWrites({ dataRoot: env.dataRoot, org: ref.org, ns: ref.ns, logs: writers.logs });
    checks.push({ label: size.label, ...check, problems: problems.length });
    if (problems.length > 0) console.log(`  loadgen check found problems at ${size.label}: ${problems.slice(0, 3).join('; ')}`);
    for (const cell of byMode.values()) {
      cell.gap = spread(cell.gapMs);
      cell.jobPause = spread(cell.jobPauseMs);
      cell.quietGap = spread(cell.quietGapMs);
      cell.ratio = spread(pairedRatios(cell.gapMs, cell.quietGapMs));
      if (cell.cpSeconds.length) cell.overCp = spread(pairedRatios(cell.gapMs.map((g) => g / 1000), cell.cpSeconds));
      cells.push(cell);
    }
  }
  return { ...load, writer: "loadgen's startWriters (writer processes retrying refused writes with a 2–50 ms backoff)", cells, checks };
}

/**
 * From the lock's completion to the unlock's: what the activities in between ran
 * (copy and replay offline, replay online) and unlock, the rest is Temporal. A cut-over
 * run as local activities leaves no activity events, so it is not split.
 */
function splitPause(activities: ActivitySpan[], into: PauseCell['pauseParts']): void {
  const lock = activities.filter((a) => a.name === 'lock').at(-1);
  const unlock = activities.filter((a) => a.name === 'unlock').at(-1);
  if (!lock || !unlock) return;
  const run = (a: ActivitySpan) => a.completed - a.started;
  const inside = activities.filter((a) => a.started >= lock.completed && a !== unlock);
  const work = inside.reduce((sum, a) => sum + run(a), 0);
  into.replay.push(work);
  into.unlock.push(run(unlock));
  into.temporal.push(unlock.completed - lock.completed - work - run(unlock));
}
