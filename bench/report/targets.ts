// Issue 15's targets, one row each: what was measured, against which baseline, the
// target, the result and whether it was met. The scoreboard at the top of results.md,
// the console summary's first lines and the targets chart are all drawn from this.
import type { BenchResults } from '../lib/results';
import { TARGETS } from '../lib/results';
import { spread, type Spread } from '../lib/stats';
import { AGENT_TARGETS } from '../suites/agents';
import { FLEET_TARGET } from '../suites/fleet';
import { FOOTPRINT_TARGETS, GROWTH_NOISE_BYTES } from '../suites/footprint';
import { OFFLINE_PAUSE_OVER_CP } from '../suites/pause';
import { mib, ms, range, x } from './format';

export interface TargetRow {
  /** A few words for the chart's axis. */
  short: string;
  figure: string;
  baseline: string;
  target: string;
  /** The measured value with its spread, or why it was not measured. */
  result: string;
  /** Absent when this run did not measure it. */
  met?: boolean;
  /** The result over its target (≤ 1 meets): the chart's bar. */
  score?: number;
}

const missing = (short: string, figure: string, baseline: string, target: string, why: string): TargetRow => ({ short, figure, baseline, target, result: why });

/** The largest cell of a figure: the issue's targets are stated for the largest size. */
const largest = <T>(cells: T[]): T | undefined => cells.at(-1);

export function targetRows(r: BenchResults): TargetRow[] {
  const rows: TargetRow[] = [];
  const ratioRow = (short: string, figure: string, baseline: string, limit: number, ratio: Spread): TargetRow => ({
    short,
    figure,
    baseline,
    target: `≤ ${limit}×`,
    result: range(ratio, x),
    met: ratio.median <= limit,
    score: ratio.median / limit,
  });

  const copy = largest(r.copy ?? []);
  rows.push(
    copy
      ? ratioRow('embedded move ÷ cp', `whole offline move, ${copy.label}, embedded default`, '`cp` + fsync of the same file', TARGETS.moveOverCp, copy.ratios.move)
      : missing('embedded move ÷ cp', 'whole offline move, embedded default', '`cp` + fsync', `≤ ${TARGETS.moveOverCp}×`, 'not measured (copy)'),
  );

  const a = r.agents;
  rows.push(
    a
      ? ratioRow('agents, loopback ÷ cp', `whole move between two agents, ${a.label}, loopback`, '`cp` + fsync of the same file', AGENT_TARGETS.loopbackOverCp, a.loopback.ratio)
      : missing('agents, loopback ÷ cp', 'whole move between two agents, loopback', '`cp` + fsync', `≤ ${AGENT_TARGETS.loopbackOverCp}×`, 'not measured (agents)'),
  );
  rows.push(
    a?.shaped
      ? ratioRow('shaped link ÷ size/rate', `move over a link shaped to ${mib(a.shaped.rateBytesPerSec)}/s, ${a.label}`, 'size ÷ rate', AGENT_TARGETS.shapedOverIdeal, a.shaped.ratio)
      : missing('shaped link ÷ size/rate', 'move over a shaped link', 'size ÷ rate', `≤ ${AGENT_TARGETS.shapedOverIdeal}×`, a?.shapedSkipped ?? 'not measured (agents)'),
  );
  if (a?.capped?.copyRate.length) {
    const c = a.capped;
    const off = Math.abs(c.ratio.median - 1);
    rows.push({
      short: 'max-rate: |rate ÷ cap − 1|',
      figure: `\`--max-rate ${mib(c.capBytesPerSec).replace(' ', '')}\` kept (copy activity's rate, ${a.label})`,
      baseline: 'the cap',
      target: `within ${AGENT_TARGETS.capTolerance * 100} %`,
      result: `${range(spread(c.copyRate.map((v) => v / 2 ** 20)), (v) => `${v.toFixed(1)} MiB/s`)} = ${range(c.ratio, x)} the cap`,
      met: off <= AGENT_TARGETS.capTolerance,
      score: off / AGENT_TARGETS.capTolerance,
    });
  } else rows.push(missing('max-rate: |rate ÷ cap − 1|', '`--max-rate` kept', 'the cap', `within ${AGENT_TARGETS.capTolerance * 100} %`, 'not measured (agents)'));

  const online = (r.pause?.cells ?? []).filter((c) => c.mode === 'online');
  if (online.length === 0) rows.push(missing('online gap p99', 'online move: writers\' longest gap, p99', 'same writers in a quiet window', `≤ ${TARGETS.onlinePauseP99Ms} ms`, 'not measured (pause)'));
  for (const c of online) {
    rows.push({
      short: `online gap p99, ${c.label}`,
      figure: `online move under ${r.pause!.writers} writers × ${r.pause!.ratePerWriter} puts/s, ${c.label}: longest gap p99 (n = ${c.reps})`,
      baseline: `same writers in a quiet window: p99 ${ms(c.quietGap.p99)}`,
      target: `≤ ${TARGETS.onlinePauseP99Ms} ms`,
      result: `${ms(c.gap.p99)} (median ${ms(c.gap.median)}; ${range(c.ratio, x)} the quiet window)`,
      met: c.gap.p99 <= TARGETS.onlinePauseP99Ms,
      score: c.gap.p99 / TARGETS.onlinePauseP99Ms,
    });
  }
  const offline = largest((r.pause?.cells ?? []).filter((c) => c.mode === 'offline' && c.cpSeconds?.length));
  rows.push(
    offline
      ? ratioRow('offline pause ÷ cp', `offline move's write pause (writers' longest gap), ${offline.label}`, '`cp` + fsync of the same file', OFFLINE_PAUSE_OVER_CP, offline.overCp)
      : missing('offline pause ÷ cp', "offline move's write pause", '`cp` + fsync', `≤ ${OFFLINE_PAUSE_OVER_CP}×`, 'not measured (pause)'),
  );

  const f = r.footprint;
  const coordinator = f?.processes.find((p) => p.kind === 'coordinator');
  const agentsOf = f?.processes.filter((p) => p.kind === 'agent') ?? [];
  const bytesRow = (short: string, figure: string, limit: number, values: number[], detail = ''): TargetRow => ({
    short,
    figure,
    baseline: '—',
    target: `≤ ${mib(limit)}`,
    result: `${values.map(mib).join(', ')}${detail}`,
    met: Math.max(...values) <= limit,
    score: Math.max(...values) / limit,
  });
  if (coordinator && f) {
    rows.push(bytesRow('coordinator peak, large move', `coordinator RSS peak during a ${f.large.label} move between two agents`, FOOTPRINT_TARGETS.coordinatorPeakBytes, coordinator.largePeakBytes, ` (${f.large.reps} moves)`));
    const growth = coordinator.smallGrowthBytes;
    rows.push({
      short: 'coordinator growth, many moves',
      figure: `coordinator RSS growth over ${f.small.moves} moves (${f.small.label} shard; after move ${f.small.moves} − after move ${f.small.growthFrom})`,
      baseline: `RSS after move ${f.small.growthFrom}: ${mib(coordinator.smallRssAfter[f.small.growthFrom - 1])}`,
      target: `none (≤ ${mib(GROWTH_NOISE_BYTES)}, RSS's own noise)`,
      result: `${growth >= 0 ? '+' : ''}${(growth / 2 ** 20).toFixed(1)} MiB`,
      met: growth <= GROWTH_NOISE_BYTES,
      score: Math.max(0, growth) / GROWTH_NOISE_BYTES,
    });
  } else {
    rows.push(missing('coordinator peak, large move', 'coordinator RSS peak during a 2 GiB move', '—', `≤ ${mib(FOOTPRINT_TARGETS.coordinatorPeakBytes)}`, 'not measured (footprint)'));
    rows.push(missing('coordinator growth, many moves', 'coordinator RSS growth over 50 moves', '—', 'none', 'not measured (footprint)'));
  }
  const rest = agentsOf.length ? agentsOf.map((p) => p.rest.rss) : (a?.memory.map((m) => m.restRss) ?? []);
  rows.push(
    rest.length
      ? bytesRow('agent RSS at rest', 'node agent RSS at rest', FOOTPRINT_TARGETS.agentRestBytes, rest, ` (${rest.length} agents)`)
      : missing('agent RSS at rest', 'node agent RSS at rest', '—', `≤ ${mib(FOOTPRINT_TARGETS.agentRestBytes)}`, 'not measured (footprint, agents)'),
  );
  rows.push(
    agentsOf.length && f
      ? bytesRow('agent peak, large move', `node agent RSS peak during a ${f.large.label} move (source and destination)`, FOOTPRINT_TARGETS.agentPeakBytes, agentsOf.flatMap((p) => p.largePeakBytes), ` (${agentsOf.map((p) => p.role).join(', ')}; each move)`)
      : missing('agent peak, large move', 'node agent RSS peak during a 2 GiB move', '—', `≤ ${mib(FOOTPRINT_TARGETS.agentPeakBytes)}`, 'not measured (footprint)'),
  );
  const fleet = r.fleet;
  rows.push(
    fleet?.rounds?.length
      ? {
          short: 'fleet moves/s (inverse)',
          figure: `fleet of ${fleet.shards} empty shards, one coordinator, ${fleet.agents.length} agents (${fleet.rounds.length} rounds)`,
          baseline: '—',
          target: `≥ ${FLEET_TARGET.movesPerSecond} moves/s`,
          result: `${fleet.rounds.map((round) => round.movesPerSecond.toFixed(2)).join(', ')} moves/s`,
          met: fleet.movesPerSecond.median >= FLEET_TARGET.movesPerSecond,
          score: FLEET_TARGET.movesPerSecond / fleet.movesPerSecond.median,
        }
      : missing('fleet moves/s (inverse)', 'fleet of 500 empty shards, one coordinator, 2 agents', '—', `≥ ${FLEET_TARGET.movesPerSecond} moves/s`, 'not measured (fleet)'),
  );
  return rows;
}

export function verdict(row: TargetRow): string {
  return row.met === undefined ? 'not measured' : row.met ? 'met' : '**missed**';
}
