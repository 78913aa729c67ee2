// One factual line per figure, each against its target: the console summary and the
// top of results.md. Readings with judgement go in BENCHMARKS.md.
import type { BenchResults } from '../lib/results';
import { TARGETS } from '../lib/results';
import { percentile } from '../lib/stats';
import { mib, ms, pct, x } from './format';
import { targetRows, verdict } from './targets';

/** Every target's line, then every figure's. */
export function headlines(r: BenchResults): string[] {
  return [...targetRows(r).map((row) => `${row.figure}: ${row.result} (baseline: ${row.baseline}); target ${row.target}: ${verdict(row).replace(/\*/g, '')}`), ...figureHeadlines(r)];
}

/** One line per figure for what the targets do not already say. */
export function figureHeadlines(r: BenchResults): string[] {
  const lines: string[] = [];
  if (r.pause) {
    const online = r.pause.cells.filter((c) => c.mode === 'online');
    const offline = r.pause.cells.filter((c) => c.mode === 'offline');
    if (online.length) lines.push(`online Job pauseMs p99: ${online.map((c) => `${ms(c.jobPause.p99)} at ${c.label}`).join(', ')}`);
    if (offline.length) lines.push(`offline write pause p50: ${offline.map((c) => `${ms(c.gap.median)} at ${c.label}`).join(', ')}`);
  }
  if (r.orchestration) {
    const o = r.orchestration;
    lines.push(
      `empty move: direct ${ms(median(o.directMs))}, through Temporal ${ms(median(o.temporalMs))}: Temporal adds ${ms(o.overheadMs.median)} per move ` +
        `(${x(o.ratio.median)}; ${o.workflowTasksPerMove} workflow tasks, ${o.activitiesPerMove} activities)`,
    );
  }
  if (r.fleet) {
    const f = r.fleet;
    const verdict = f.movesPerSecond.median >= f.targetMovesPerSecond ? 'meets' : 'misses';
    lines.push(
      `fleet of ${f.shards} empty shards, 1 coordinator, ${f.agents.length} agents: ${f.movesPerSecond.median.toFixed(2)} moves/s (${f.rounds.length} round(s)); ` +
        `${verdict} the ≥ ${f.targetMovesPerSecond} moves/s target; cores busy: server ${f.cores.server.median.toFixed(2)}, coordinator ${f.cores.coordinator.median.toFixed(2)}, ` +
        `agents ${f.cores.agents.median.toFixed(2)} (dev server ${pct(f.serverShare.median)} of the CPU used)`,
    );
  }
  if (r.memory?.cells.length) {
    const cells = r.memory.cells;
    const worst = Math.max(...cells.map((c) => c.peak.max));
    lines.push(
      `worker peak RSS while moving: ${cells.map((c) => `${mib(c.peak.max)} at ${c.label} (+${mib(c.growth.median)} over ${mib(median(c.idleRssBytes))} before)`).join(', ')}; ` +
        `start-up peak ${mib(r.memory.startupPeakBytes)}; ${worst < TARGETS.workerPeakBytes ? 'meets' : 'misses'} the ${mib(TARGETS.workerPeakBytes)} target`,
    );
  }
  return lines;
}


const median = (values: number[]) => percentile(values, 50);
