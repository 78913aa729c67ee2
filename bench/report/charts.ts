// The figures as SVG files, drawn from results.json alone (so a chart can be
// redrawn from committed results without re-running the bench).
import { barSpec, type BarChart, type BarValue } from '../chart/bars';
import { lineSpec, type LineChart } from '../chart/lines';
import { stackedSpec, type StackedChart } from '../chart/stacked';
import { render } from '../chart/vega';
import { FOOTPRINT_TARGETS } from '../suites/footprint';
import { targetRows } from './targets';
import { STEP_NAMES, type StepName } from '../lib/product-steps';
import { TARGETS, type BenchResults } from '../lib/results';
import { percentile, spread, type Spread } from '../lib/stats';

const bar = (s: Spread): BarValue => ({ value: s.median, low: s.min, high: s.max });
const median = (values: number[]) => percentile(values, 50);
const MiB = 2 ** 20;
const barChart = (chart: BarChart) => render(barSpec(chart));
const stackedChart = (chart: StackedChart) => render(stackedSpec(chart));
const lineChart = (chart: LineChart) => render(lineSpec(chart));

export async function charts(results: BenchResults): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const where = `${results.machine.nproc} cores, ${results.machine.disk.split(' ')[1]}, ${results.mode} run ${results.startedAt.slice(0, 10)}`;

  const scored = targetRows(results).filter((row) => row.score !== undefined);
  if (scored.length) {
    out['targets.svg'] = await barChart({
      title: "Issue 15's targets: each result over its target (≤ 1 meets it)",
      subtitle: `ratio rows: (result ÷ baseline) ÷ target ratio; ms and MiB rows: result ÷ target; max-rate: distance from the cap ÷ 5 %; ${where}`,
      categories: scored.map((row) => row.short),
      series: [{ name: 'result ÷ target', values: scored.map((row) => ({ value: row.score! })) }],
      yLabel: '× target',
      marks: [{ value: 1, label: 'target' }],
      format: (v) => v.toFixed(2),
    });
  }

  if (results.copy?.length) {
    const copy = results.copy;
    out['copy-throughput.svg'] = await barChart({
      title: 'Offline move vs cp + fsync of the same file (lower is better)',
      subtitle: `time ÷ cp+fsync time of the same rep; bar = median, whisker = min–max; ${where}`,
      categories: copy.map((c) => `${c.label} (n=${c.reps})`),
      series: [
        { name: 'whole move (Temporal + copy + verify)', values: copy.map((c) => bar(c.ratios.move)) },
        { name: 'fs.copyFile + fsync', values: copy.map((c) => bar(c.ratios.copyFile)) },
        { name: 'SQLite backup() + fsync', values: copy.map((c) => bar(c.ratios.backup)) },
        { name: 'sha256 of the file', values: copy.map((c) => bar(c.ratios.sha256)) },
      ],
      yLabel: '× cp + fsync',
      marks: [
        { value: 1, label: 'cp + fsync = 1' },
        { value: TARGETS.moveOverCp, label: `target ${TARGETS.moveOverCp}×` },
      ],
      format: (v) => `${v.toFixed(2)}×`,
    });
    const activities = activityOrder(copy.flatMap((c) => Object.keys(c.phases)));
    const stepNames = Object.keys(STEP_NAMES) as StepName[];
    const partNames = ['client calls', 'Temporal (queues, workflow tasks)', ...activities, ...stepNames.map((k) => `${STEP_NAMES[k]} alone`), 'cp + fsync'];
    out['copy-breakdown.svg'] = await stackedChart({
      title: 'Where an offline move spends its time, in units of one cp + fsync',
      subtitle: `median of each part ÷ median cp time; "alone" = the product's own functions re-run on the same file; ${where}`,
      partNames,
      bars: copy.flatMap((c) => {
        const cp = median(c.seconds.cp);
        const n = (values: number[] | undefined) => (values?.length ? median(values) / cp : 0);
        const moveParts = [n(c.phases.client), n(c.phases.temporal), ...activities.map((a) => n(c.phases[a]))];
        const stepParts = stepNames.map((k) => n(c.steps[k]));
        return [
          { label: `${c.label} move`, parts: moveParts },
          { label: `${c.label} steps alone`, parts: [...moveParts.map(() => 0), ...stepParts] },
          { label: `${c.label} cp + fsync`, parts: [...moveParts.map(() => 0), ...stepParts.map(() => 0), 1] },
        ];
      }),
      xLabel: '× median cp + fsync time',
      format: (v) => `${v.toFixed(2)}×`,
    });
  }

  if (results.pause?.cells.length) {
    const cells = results.pause.cells;
    const labels = [...new Set(cells.map((c) => c.label))];
    const cell = (mode: string, label: string) => cells.find((c) => c.mode === mode && c.label === label);
    const gapBar = (mode: string) => labels.map((l) => { const c = cell(mode, l); return c ? { value: c.gap.median, low: c.gap.min, high: c.gap.p99 } : null; });
    out['write-pause.svg'] = await barChart({
      title: 'Longest gap between acknowledged writes during a move (lower is better)',
      subtitle: `bar = p50, whisker = min–p99 over repeated moves; ${results.pause.writers} writers × ${results.pause.ratePerWriter} puts/s; log scale; ${where}`,
      categories: labels.map((l) => `${l} (n=${cell('online', l)?.reps ?? '?'})`),
      series: [
        { name: 'offline move', values: gapBar('offline') },
        { name: 'online move', values: gapBar('online') },
        { name: 'online Job pauseMs (lock → unlock)', values: labels.map((l) => { const c = cell('online', l); return c ? bar(c.jobPause) : null; }) },
        { name: 'same load, no move (quiet window)', values: labels.map((l) => { const c = cell('online', l); return c ? bar(spread([...c.quietGapMs, ...(cell('offline', l)?.quietGapMs ?? [])])) : null; }) },
      ],
      yLabel: 'milliseconds',
      log: true,
      marks: [{ value: TARGETS.onlinePauseP99Ms, label: `online target: p99 < ${TARGETS.onlinePauseP99Ms} ms` }],
      format: (v) => `${Math.round(v)}`,
    });
  }

  if (results.orchestration) {
    const o = results.orchestration;
    const d = o.directPhasesMs;
    const s = o.stepsMs;
    out['orchestration.svg'] = await stackedChart({
      title: 'Empty shard: the same phases called directly vs a move through Temporal',
      subtitle: `median ms of each part over ${o.reps} interleaved moves; Temporal parts from workflow history event times; ${where}`,
      partNames: ['prepare', 'lock', 'checkpointAndCopy', 'replay', 'unlock', 'activities running', 'activity queue waits', 'workflow tasks running', 'workflow task queue waits', 'server, between events', 'client calls'],
      bars: [
        { label: 'direct calls', parts: [median(d.prepare), median(d.lock), median(d.checkpointAndCopy), median(d.replay), median(d.unlock)] },
        { label: 'through Temporal', parts: [0, 0, 0, 0, 0, median(s.activityRun), median(s.activityQueue), median(s.workflowTaskRun), median(s.workflowTaskQueue), Math.max(0, median(s.between)), median(s.client)] },
      ],
      xLabel: 'milliseconds',
      format: (v) => `${Math.round(v)} ms`,
    });
  }

  if (results.fleet) {
    const f = results.fleet;
    const label = (r: (typeof f.rounds)[number], i: number) => `round ${i + 1}: ${r.from} → ${r.to}`;
    out['fleet.svg'] = await barChart({
      title: `Fleet: ${f.shards} empty shards moved at once, 1 coordinator, ${f.agents.length} agents (higher is better; target ≥ ${f.targetMovesPerSecond})`,
      subtitle: `one bar per round; ${where}`,
      categories: f.rounds.map(label),
      series: [{ name: 'moves per second', values: f.rounds.map((r) => ({ value: r.movesPerSecond, low: r.movesPerSecond, high: r.movesPerSecond })) }],
      yLabel: 'moves / second',
      format: (v) => v.toFixed(1),
    });
    out['fleet-cpu.svg'] = await stackedChart({
      title: 'Fleet: CPU seconds per 100 moves, by process',
      subtitle: `from /proc/<pid>/stat utime+stime; ${where}`,
      partNames: ['Temporal dev server', 'coordinator', 'node agents', 'bench (submits, awaits results)'],
      bars: f.rounds.map((r, i) => {
        const per100 = (v: number) => (v / r.shards) * 100;
        const agents = Object.values(r.cpu.agents).reduce((a, b) => a + b, 0);
        return { label: label(r, i), parts: [per100(r.cpu.server), per100(r.cpu.coordinator), per100(agents), per100(r.cpu.bench)] };
      }),
      xLabel: 'CPU seconds per 100 moves',
      format: (v) => `${v.toFixed(1)} s`,
    });
  }

  if (results.memory?.cells.length) {
    const m = results.memory;
    out['memory.svg'] = await lineChart({
      title: 'Worker RSS while it moves a shard (flat and low is better)',
      subtitle: `VmRSS every 100 ms during the first move of each size; ${where}`,
      series: m.cells.map((c) => ({ name: `${c.label} shard: peak ${(c.peak.max / MiB).toFixed(0)} MiB`, points: c.trace.map((p): [number, number] => [p.t, p.rss / MiB]) })),
      xLabel: 'seconds since the move started',
      yLabel: 'MiB',
      marks: [
        { value: TARGETS.workerPeakBytes / MiB, label: `target: under ${TARGETS.workerPeakBytes / MiB} MiB` },
        { value: m.startupPeakBytes / MiB, label: `start-up peak ${(m.startupPeakBytes / MiB).toFixed(0)} MiB` },
      ],
    });
  }
  if (results.footprint) {
    const f = results.footprint;
    const mibOf = (b: number) => b / MiB;
    out['footprint-large.svg'] = await lineChart({
      title: `Coordinator and node agents while they move a ${f.large.label} shard (flat and low is better)`,
      subtitle: `VmRSS every 100 ms during the first large move; three separate processes; ${where}`,
      series: f.processes.map((p) => ({ name: `${p.role}: peak ${(Math.max(...p.largePeakBytes) / MiB).toFixed(0)} MiB`, points: p.largeTrace.map((t): [number, number] => [t.t, mibOf(t.rss)]) })),
      xLabel: 'seconds since the move started',
      yLabel: 'MiB',
      marks: [
        { value: mibOf(FOOTPRINT_TARGETS.coordinatorPeakBytes), label: `coordinator target ${mibOf(FOOTPRINT_TARGETS.coordinatorPeakBytes)} MiB` },
        { value: mibOf(FOOTPRINT_TARGETS.agentPeakBytes), label: `agent target ${mibOf(FOOTPRINT_TARGETS.agentPeakBytes)} MiB` },
      ],
    });
    out['footprint-growth.svg'] = await lineChart({
      title: `RSS after each of ${f.small.moves} small moves (flat is better)`,
      subtitle: `VmRSS of each process after each move of a ${f.small.label} shard between the agents; ${where}`,
      series: f.processes.map((p) => ({ name: `${p.role}: ${p.smallGrowthBytes >= 0 ? '+' : ''}${(p.smallGrowthBytes / MiB).toFixed(1)} MiB after move ${f.small.growthFrom}`, points: p.smallRssAfter.map((rss, i): [number, number] => [i + 1, mibOf(rss)]) })),
      xLabel: 'moves',
      yLabel: 'MiB',
    });
  }
  return out;
}

const KNOWN_ACTIVITIES = ['prepare', 'lock', 'checkpointAndCopy', 'catchUp', 'replay', 'unlock', 'rollback'];

/** Activity names in workflow order, any unknown ones after; without the non-activity keys. */
export function activityOrder(names: string[]): string[] {
  const unique = [...new Set(names)].filter((n) => n !== 'temporal' && n !== 'client');
  const rank = (n: string) => (KNOWN_ACTIVITIES.includes(n) ? KNOWN_ACTIVITIES.indexOf(n) : KNOWN_ACTIVITIES.length);
  return unique.sort((a, b) => rank(a) - rank(b));
}
