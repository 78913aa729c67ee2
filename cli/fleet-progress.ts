// Follows a fleet job to its end. On a terminal: one bar for the whole plan (moves and
// bytes done, rate, ETA), naming a move that has made no progress for `stallMs`. Piped:
// one plain line per change.
import { Presets, SingleBar } from 'cli-progress';
import type { FleetSnapshot } from '../fleet/client';
import type { FleetJob } from '../fleet/types';
import { formatBytes } from './output';
import { progressLine } from './fleet-format';
import type { Output } from './progress';

export interface FleetWatchable {
  watch(id: string): AsyncIterable<FleetSnapshot>;
}

/** Bytes done: moves finished, plus what running copies have copied so far. */
export function bytesDone(snap: FleetSnapshot): number {
  return snap.moved.bytes + snap.moves.reduce((sum, m) => sum + (m.progress?.bytesCopied ?? 0), 0);
}

/** Names the running moves whose phase and copied bytes have not changed for `stallMs`. */
export class StallWatch {
  private readonly seen = new Map<string, { key: string; since: number }>();
  constructor(private readonly stallMs: number) {}

  stalled(snap: FleetSnapshot, now = Date.now()): string[] {
    const names: string[] = [];
    const live = new Set<string>();
    for (const m of snap.moves) {
      live.add(m.id);
      const key = `${m.status}:${m.progress?.bytesCopied ?? 0}`;
      const was = this.seen.get(m.id);
      if (!was || was.key !== key) this.seen.set(m.id, { key, since: now });
      else if (now - was.since >= this.stallMs) {
        const r = snap.running.find((x) => x.jobId === m.id);
        names.push(`${r ? `${r.org}/${r.ns} ${r.from} -> ${r.to}` : m.id} (${m.status}, job ${m.id}) no progress for ${Math.round((now - was.since) / 1000)} s`);
      }
    }
    for (const id of this.seen.keys()) if (!live.has(id)) this.seen.delete(id);
    return names;
  }
}

export async function followFleet(source: FleetWatchable, id: string, out: Output, options: { quiet?: boolean; stallMs?: number } = {}): Promise<FleetJob> {
  const stalls = new StallWatch(options.stallMs ?? 60_000);
  const view = options.quiet ? undefined : out.isTTY ? barView(out) : lineView(out);
  let last: FleetSnapshot | undefined;
  const onInterrupt = () => {
    view?.end();
    process.stderr.write(`tasksd: stopped watching; fleet job ${id} keeps running ("tasksd fleet watch ${id}", "tasksd fleet cancel ${id}")\n`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    for await (const snap of source.watch(id)) {
      last = snap;
      view?.show(snap, stalls.stalled(snap));
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    view?.end();
  }
  if (!last) throw new Error(`watching fleet job ${id} returned nothing`);
  const { moves: _moves, ...job } = last;
  return job;
}

function lineView(out: Output) {
  let previous = '';
  return {
    show(snap: FleetSnapshot, stalled: string[]) {
      const line = `${snap.status}: ${progressLine(snap)}${stalled.length ? `; stalled: ${stalled.join('; ')}` : ''}`;
      if (line !== previous) out.write(`${line}\n`);
      previous = line;
    },
    end() {},
  };
}

function barView(out: Output) {
  const bar = new SingleBar(
    {
      stream: out as NodeJS.WritableStream,
      format: '{status} [{bar}] {percentage}% | {moves} moves | {done} / {size} | {rate} | ETA {remaining}{stalled}',
      hideCursor: true,
      barsize: 30,
      fps: 5,
    },
    Presets.shades_classic,
  );
  let started = false;
  let first: { at: number; bytes: number } | undefined;
  return {
    show(snap: FleetSnapshot, stalled: string[]) {
      const total = snap.plan?.bytes ?? 0;
      const done = Math.min(bytesDone(snap), total || Infinity);
      first ??= { at: Date.now(), bytes: done };
      const seconds = (Date.now() - first.at) / 1000;
      const rate = seconds > 1 ? (done - first.bytes) / seconds : 0;
      const payload = {
        status: snap.status.padEnd(10),
        moves: snap.plan ? `${snap.moved.moves + snap.skipped.length + snap.failed.length}/${snap.plan.moveCount}` : '-',
        done: formatBytes(done),
        size: formatBytes(total),
        rate: rate > 0 ? `${formatBytes(rate)}/s` : '-',
        remaining: rate > 0 && total > done ? `${Math.ceil((total - done) / rate)}s` : '-',
        stalled: stalled.length ? ` | stalled: ${stalled.join('; ')}` : '',
      };
      if (started) {
        bar.setTotal(total || 1);
        bar.update(total ? done : 0, payload);
      } else {
        bar.start(total || 1, total ? done : 0, payload);
        started = true;
      }
    },
    end() {
      if (started) bar.stop();
      started = false;
    },
  };
}
