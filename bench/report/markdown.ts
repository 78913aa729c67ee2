// results.md: every figure as a table (raw numbers and ratios, median [min–max]),
// the machine it ran on, and the charts, written next to results.json.
import { STEP_NAMES, type StepName } from '../lib/product-steps';
import type { BenchResults } from '../lib/results';
import { percentile, spread } from '../lib/stats';
import { activityOrder } from './charts';
import { mib, ms, pct, range, s, x } from './format';
import { figureHeadlines } from './headlines';
import { targetRows, verdict } from './targets';
import { AGENT_TARGETS, PROBES, type ProbeName } from '../suites/agents';

const secs = (v: number) => `${s(v)} s`;
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export function markdown(r: BenchResults, chartFiles: string[]): string {
  const m = r.machine;
  const out: string[] = [
    `# Benchmark results (${r.mode} run)`,
    '',
    `Run ${r.startedAt}, ${Math.round(r.seconds / 60)} min. Figures are median [min–max] over repeated runs; ratios are per-rep pairs with a baseline measured interleaved in the same run.`,
    '',
    '## Targets (issue 15)',
    '',
    table(['figure', 'baseline', 'target', 'result', ''], targetRows(r).map((t) => [t.figure, t.baseline, t.target, t.result, verdict(t)])),
    '',
    ...figureHeadlines(r).map((h) => `- ${h}`),
    '',
    '## Machine',
    '',
    table(['what', 'value'], [
      ['nproc', String(m.nproc)], ['CPU', m.cpu], ['memory', `${m.memoryGiB} GiB`], ['kernel', m.kernel], ['node', m.node],
      ['SQLite (better-sqlite3)', m.sqlite], ['Temporal CLI', m.temporalCli], ['disk', m.disk], ['product (git describe)', m.product ?? 'not recorded'],
    ]),
    '',
    table(['generated shard', 'rows', 'size', 'seconds'], r.generated.map((g) => [`${g.org}/${g.ns}`, String(g.rows), mib(g.bytes), s(g.seconds)])),
  ];
  if (r.notes.length) out.push('', '**Notes:**', '', ...r.notes.map((n) => `- ${n}`));

  if (r.copy?.length) {
    out.push('', '## 1. Copy throughput (offline move vs cp + fsync)', '');
    out.push(table(['size', 'n', 'move (client wall)', 'Job span', 'cp + fsync', 'move ÷ cp', 'copyFile ÷ cp', 'backup() ÷ cp', 'sha256 ÷ cp', 'verification share'],
      r.copy.map((c) => [c.label, String(c.reps), range(spread(c.seconds.move), secs), range(spread(c.seconds.jobSpan), secs), range(spread(c.seconds.cp), secs),
        range(c.ratios.move, x), range(c.ratios.copyFile, x), range(c.ratios.backup, x), range(c.ratios.sha256, x), pct(c.verificationShare.median)])));
    const activities = activityOrder(r.copy.flatMap((c) => Object.keys(c.phases)));
    out.push('', 'Per phase (seconds, from workflow history; "temporal" = workflow time outside activities, "client" = wall time outside the workflow):', '');
    out.push(table(['size', ...activities, 'temporal', 'client'],
      r.copy.map((c) => [c.label, ...[...activities, 'temporal', 'client'].map((a) => (c.phases[a]?.length ? range(spread(c.phases[a]), secs) : '—'))])));
    const steps = Object.keys(STEP_NAMES) as StepName[];
    out.push('', "The product's own steps run alone on the same file (seconds):", '');
    out.push(table(['size', ...steps.map((k) => STEP_NAMES[k])], r.copy.map((c) => [c.label, ...steps.map((k) => range(spread(c.steps[k]), secs))])));
  }

  if (r.pause) {
    out.push('', '## 2. Write pause under steady writes', '', `Load: ${r.pause.writers} writer processes × ${r.pause.ratePerWriter} puts/s (${r.pause.writer}). With few moves p99 is the maximum.`, '');
    out.push(table(['size', 'mode', 'n', 'longest gap p50', 'p99', 'Job pauseMs p50', 'p99', 'quiet-window gap p50', 'gap ÷ quiet gap', 'gap ÷ cp + fsync', 'move seconds'],
      r.pause.cells.map((c) => [c.label, c.mode, String(c.reps), ms(c.gap.median), ms(c.gap.p99), ms(c.jobPause.median), ms(c.jobPause.p99),
        ms(c.quietGap.median), range(c.ratio, x), c.cpSeconds?.length ? `${range(c.overCp, x)} (cp ${range(spread(c.cpSeconds), secs)})` : '—', range(spread(c.moveSeconds), secs)])));
    if (r.pause.cells.some((c) => c.pauseParts?.replay.length)) out.push('', 'The lock → unlock window from the history (median ms): activities between lock and unlock (offline: copy and replay), unlock, and Temporal between them; online cut-overs run as local activities and are not split:', '');
    if (r.pause.cells.some((c) => c.pauseParts?.replay.length)) out.push(table(['size', 'mode', 'copy + replay', 'unlock', 'Temporal between', 'Job pauseMs'],
      r.pause.cells.filter((c) => c.pauseParts?.replay.length).map((c) => [c.label, c.mode, ...[c.pauseParts.replay, c.pauseParts.unlock, c.pauseParts.temporal].map((v) => ms(percentile(v, 50))), ms(c.jobPause.median)])));
    out.push('', "loadgen's write check after each size's moves:", '');
    out.push(table(['size', 'acknowledged', 'refused', 'lost', 'phantom', 'problems'],
      r.pause.checks.map((c) => [c.label, String(c.acked), String(c.refused), String(c.lost), String(c.phantom), String(c.problems)])));
  }

  if (r.orchestration) {
    const o = r.orchestration;
    const med = (v: number[]) => ms(percentile(v, 50));
    out.push('', '## 3. Orchestration overhead (empty shard)', '');
    out.push(table(['path', 'n', 'end to end'], [
      ['phase functions called directly', String(o.reps), range(spread(o.directMs), ms)],
      ['through Temporal (MigrationClient.migrate)', String(o.reps), range(spread(o.temporalMs), ms)],
      ['Temporal adds', String(o.reps), range(o.overheadMs, ms)],
      ['ratio', String(o.reps), range(o.ratio, x)],
    ]));
    out.push('', `One verification thread's start-up (quick_check of the empty shard): ${range(spread(o.checkThreadMs), ms)}; a move starts three.`);
    out.push(`Direct phases (median): ${Object.entries(o.directPhasesMs).map(([k, v]) => `${k} ${med(v)}`).join(', ')}.`);
    out.push(`Through Temporal (median): ${Object.entries(o.stepsMs).map(([k, v]) => `${k} ${med(v)}`).join(', ')}; ${o.workflowTasksPerMove} workflow tasks and ${o.activitiesPerMove} activities per move.`);
  }

  if (r.fleet) {
    const f = r.fleet;
    const met = f.movesPerSecond.median >= f.targetMovesPerSecond ? 'met' : '**missed**';
    out.push('', `## 4. Fleet throughput (${f.shards} empty shards at once, 1 coordinator, ${f.agents.length} node agents)`, '');
    out.push(`Two \`tasksd node serve\` processes (${f.agents.join(', ')}) and one coordinator worker process; all ${f.shards} offline moves started at once, each round moving every shard to the other agent. ` +
      `Target ≥ ${f.targetMovesPerSecond} moves/s: ${met} (median ${f.movesPerSecond.median.toFixed(2)} moves/s).`, '');
    out.push(table(['round', 'from → to', 'seconds', 'moves/s', 'server CPU s', 'coordinator CPU s', 'agents CPU s', 'bench CPU s', 'machine busy (cores)', 'server share', 'move latency p50', 'p99'],
      f.rounds.map((x, i) => [String(i + 1), `${x.from} → ${x.to}`, s(x.seconds), x.movesPerSecond.toFixed(2), s(x.cpu.server), s(x.cpu.coordinator),
        Object.entries(x.cpu.agents).map(([id, v]) => `${id} ${s(v)}`).join(', '), s(x.cpu.bench), (x.cpu.machine / x.seconds).toFixed(2), pct(x.serverShare), ms(x.latencyMs.median), ms(x.latencyMs.p99)])));
    const p = f.rounds[0]?.perMove;
    if (p) {
      const b = p.breakdownMs;
      out.push('', `Per move (round 1, mean of sampled histories): ${p.workflowTasks} workflow tasks, ${p.activities} activities, ${p.localActivities} local activities, ${p.historyEvents} history events; ` +
        `activity run ${ms(b.activityRun)}, activity queue ${ms(b.activityQueue)}, workflow task run ${ms(b.workflowTaskRun)}, workflow task queue ${ms(b.workflowTaskQueue)}, between ${ms(b.between)}.`);
    }
  }

  if (r.memory?.cells.length) {
    out.push('', '## 5. Worker memory while moving a shard', '', `Start-up peak (bundling the workflows, one warm-up move): ${mib(r.memory.startupPeakBytes)}.`, '');
    out.push(table(['size', 'n', 'peak RSS during the move', 'RSS right before', 'growth (peak − before)', 'move time'],
      r.memory.cells.map((c) => [c.label, String(c.reps), range(c.peak, mib), range(spread(c.idleRssBytes), mib), range(c.growth, mib), range(spread(c.moveSeconds), secs)])));
  }
  if (r.agents) {
    const a = r.agents;
    const met = (ok: boolean) => (ok ? 'met' : '**missed**');
    out.push('', `## 6. Moves between node agents (${a.label} shard, ${mib(a.fileBytes)})`, '');
    out.push('Two `tasksd node serve` processes with their own directories, SQLite catalog shared through the data root, the bench worker as coordinator; offline moves timed from `MigrationClient.migrate()` to `released`.', '');
    const rows = [['loopback ÷ cp + fsync', String(a.loopback.n), range(spread(a.loopback.seconds.move), secs), `cp + fsync ${range(spread(a.loopback.cp), secs)}`, range(a.loopback.ratio, x), `≤ ${AGENT_TARGETS.loopbackOverCp}×`, met(a.loopback.ratio.median <= AGENT_TARGETS.loopbackOverCp)]];
    if (a.shaped) {
      rows.push([`${mib(a.shaped.rateBytesPerSec)}/s link ÷ size/rate`, String(a.shaped.n), range(spread(a.shaped.seconds.move), secs), `size ÷ rate ${secs(a.shaped.idealSeconds)}; one stream alone ${range(spread(a.shaped.probes.stream ?? []), secs)}`,
        range(a.shaped.ratio, x), `≤ ${AGENT_TARGETS.shapedOverIdeal}×`, met(a.shaped.ratio.median <= AGENT_TARGETS.shapedOverIdeal)]);
    }
    if (a.capped?.copyRate.length) {
      const c = a.capped;
      rows.push([`loopback, \`--max-rate ${mib(c.capBytesPerSec).replace(' ', '')}\`: copy rate ÷ cap`, String(c.n), range(spread(c.seconds.move), secs),
        `copy activity ${range(spread(c.phases.checkpointAndCopy ?? []), secs)}`, range(c.ratio, (v) => v.toFixed(3)), `within ${AGENT_TARGETS.capTolerance * 100} %`,
        met(Math.abs(c.ratio.median - 1) <= AGENT_TARGETS.capTolerance)]);
    }
    out.push(table(['figure', 'n', 'move', 'baseline', 'ratio', 'target', ''], rows));
    if (a.shapedSkipped) out.push('', `Shaped link not measured: ${a.shapedSkipped}.`);
    out.push('', 'Agent memory (VmRSS / VmHWM of the `node serve` process):', '');
    out.push(table(['agent', 'where', 'RSS at rest', 'peak at rest', 'RSS after moves', 'peak after moves', 'target at rest'],
      a.memory.map((m) => [m.node, m.where, mib(m.restRss), mib(m.restHwm), `${mib(m.afterRss)} (${m.moves} moves)`, mib(m.afterHwm), `≤ ${mib(AGENT_TARGETS.restRssBytes)}: ${met(m.restRss <= AGENT_TARGETS.restRssBytes)}`])));
    const parts = [['loopback', a.loopback], ...(a.shaped ? [['shaped', a.shaped] as const] : [])] as const;
    const activities = [...[...new Set(parts.flatMap(([, p]) => Object.keys(p.phases)))].filter((k) => k !== 'temporal' && k !== 'client'), 'temporal', 'client'];
    out.push('', 'Per phase (seconds, from workflow history):', '');
    out.push(table(['link', ...activities], parts.map(([name, p]) => [name, ...activities.map((k) => (p.phases[k]?.length ? range(spread(p.phases[k]), secs) : '—'))])));
    const probes = (Object.keys(PROBES) as ProbeName[]).filter((k) => parts.some(([, p]) => p.probes[k]?.length));
    out.push('', "The copy's parts run alone on a pinned snapshot of the same shard, read from the bench process (seconds):", '');
    out.push(table(['link', ...probes.map((k) => PROBES[k])], parts.map(([name, p]) => [name, ...probes.map((k) => (p.probes[k]?.length ? range(spread(p.probes[k]!), secs) : '—'))])));
  }
  if (r.footprint) {
    const f = r.footprint;
    out.push('', `## 7. Footprint: coordinator and node agents (${f.large.label} moves, then ${f.small.moves} moves of ${f.small.label})`, '');
    out.push('One coordinator (`worker.ts`) and two `tasksd node serve` processes on loopback; VmRSS / VmHWM / RssAnon / RssFile from /proc, peaks reset before each large move.', '');
    out.push(table(['process', 'RSS at rest (anon + file)', `peak during each ${f.large.label} move`, 'RSS before → after the large moves', `RSS after move ${f.small.growthFrom} → ${f.small.moves}`, 'growth', 'peak over the small moves'],
      f.processes.map((p) => [p.role, `${mib(p.rest.rss)} (${mib(p.rest.anon)} + ${mib(p.rest.file)})`, p.largePeakBytes.map(mib).join(', '),
        `${mib(p.largeBeforeRss[0])} → ${mib(p.largeAfter.at(-1)?.rss ?? NaN)}`, `${mib(p.smallRssAfter[f.small.growthFrom - 1])} → ${mib(p.smallRssAfter.at(-1)!)}`,
        `${p.smallGrowthBytes >= 0 ? '+' : ''}${(p.smallGrowthBytes / 2 ** 20).toFixed(1)} MiB`, mib(p.smallPeakBytes)])));
    out.push('', `Large moves: ${range(spread(f.large.moveSeconds), secs)}; small moves: ${range(spread(f.small.moveSeconds), secs)}.`);
  }
  if (chartFiles.length) out.push('', '## Charts', '', ...chartFiles.map((f) => `![${f}](charts/${f})`));
  return `${out.join('\n')}\n`;
}
