// `npm run bench [-- --quick] [-- --only copy,pause] [-- --keep]`: measures the product
// against baselines taken in the same run, on its own dev server, and writes
// results.json, results.md and SVG charts. `--redraw` rebuilds the reports from an
// existing results.json without measuring.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FULL, QUICK } from './config';
import { openEnv } from './lib/env';
import { describeMachine } from './lib/machine';
import type { BenchResults } from './lib/results';
import { ShardPool } from './lib/shards';
import { charts } from './report/charts';
import { headlines } from './report/headlines';
import { markdown } from './report/markdown';
import { agentsFigure } from './suites/agents';
import { copyFigure } from './suites/copy';
import { fleetFigure } from './suites/fleet';
import { footprintFigure } from './suites/footprint';
import { memoryFigure } from './suites/memory';
import { orchestrationFigure } from './suites/orchestration';
import { pauseFigure } from './suites/pause';

const BENCH_DIR = __dirname;
const FIGURES = ['copy', 'orchestration', 'fleet', 'memory', 'pause', 'agents', 'footprint'] as const;

function parseArgs(argv: string[]) {
  const flag = (name: string) => argv.includes(`--${name}`);
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const quick = flag('quick');
  const only = value('only')?.split(',') ?? [...FIGURES];
  const unknown = only.filter((f) => !(FIGURES as readonly string[]).includes(f));
  if (unknown.length) throw new Error(`unknown figure(s) ${unknown.join(', ')}: choose from ${FIGURES.join(', ')}`);
  return {
    quick,
    only,
    keep: flag('keep'),
    redraw: flag('redraw'),
    out: path.resolve(value('out') ?? path.join(BENCH_DIR, quick ? 'results-quick' : 'results')),
  };
}

async function writeReports(out: string, results: BenchResults): Promise<void> {
  const chartDir = path.join(out, 'charts');
  fs.mkdirSync(chartDir, { recursive: true });
  // results.json first, so a chart that fails to draw loses no measurement.
  fs.writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  const svgs = await charts(results);
  for (const [name, svg] of Object.entries(svgs)) fs.writeFileSync(path.join(chartDir, name), svg);
  fs.writeFileSync(path.join(out, 'results.md'), markdown(results, Object.keys(svgs)));
}

async function run(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.redraw) {
    await writeReports(args.out, JSON.parse(fs.readFileSync(path.join(args.out, 'results.json'), 'utf8')) as BenchResults);
    console.log(`redrew ${args.out}`);
    return;
  }
  const config = args.quick ? QUICK : FULL;
  const workDir = path.join(BENCH_DIR, 'work');
  const started = Date.now();
  const results: BenchResults = {
    mode: args.quick ? 'quick' : 'full',
    startedAt: new Date(started).toISOString(),
    seconds: 0,
    machine: describeMachine(BENCH_DIR),
    generated: [],
    notes: [...config.notes],
  };
  console.log(`tasksd bench (${results.mode}): ${args.only.join(', ')}; results to ${args.out}`);
  const env = await openEnv(workDir, args.keep);
  let failed = false;
  try {
    const pool = new ShardPool(env);
    results.generated = pool.generated;
    const main = await env.startWorker('bench-main');
    const figures: Record<(typeof FIGURES)[number], () => Promise<void>> = {
      copy: async () => void (results.copy = await copyFigure(env, pool, main.taskQueue, config.copySizes)),
      orchestration: async () => void (results.orchestration = await orchestrationFigure(env, pool, main.taskQueue, config.orchestrationReps)),
      fleet: async () => void (results.fleet = await fleetFigure(env, config.fleetShards, config.fleetRounds)),
      memory: async () => void (results.memory = await memoryFigure(env, pool, config.memorySizes)),
      pause: async () => void (results.pause = await pauseFigure(env, pool, main.taskQueue, config.pauseSizes, config.pauseLoad)),
      agents: async () => void (results.agents = await agentsFigure(env, pool, main.taskQueue, config.agentsSize)),
      footprint: async () => void (results.footprint = await footprintFigure(env, pool, config.footprint)),
    };
    for (const name of FIGURES.filter((f) => args.only.includes(f))) {
      console.log(`\n[${name}]`);
      try {
        await figures[name]();
      } catch (err) {
        // One broken figure must not throw away the others: report it and go on.
        failed = true;
        results.notes.push(`figure "${name}" failed: ${(err as Error).message}`);
        console.error(`figure ${name} failed:`, err);
      }
      results.seconds = (Date.now() - started) / 1000;
      await writeReports(args.out, results);
    }
  } finally {
    await env.close();
  }
  console.log(`\nSummary (${results.mode}, ${Math.round(results.seconds / 60)} min):`);
  for (const line of headlines(results)) console.log(`  - ${line}`);
  console.log(`\nWrote ${path.relative(process.cwd(), args.out)}/results.{json,md} and charts/`);
  if (failed) process.exitCode = 1;
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
