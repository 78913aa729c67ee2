// Follows a job to its end. On a terminal: one live bar (bytes copied / total,
// rate, ETA, phase). Piped: one plain line per change, so logs stay readable.
import { Presets, SingleBar } from 'cli-progress';
import type { Job } from '../common/job';
import type { JobSnapshot } from '../client';
import { phaseLine } from './job-format';
import { formatBytes } from './output';

export interface Watchable {
  watch(id: string): AsyncIterable<JobSnapshot>;
}

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

interface View {
  show(snap: JobSnapshot): void;
  end(final: JobSnapshot | undefined): void;
}

/** Renders the job's snapshots on `out` (nothing when `quiet`) and returns the final Job. */
export async function followJob(source: Watchable, id: string, out: Output, quiet = false): Promise<Job> {
  const view = quiet ? silentView() : out.isTTY ? barView(out) : lineView(out);
  let last: JobSnapshot | undefined;
  // Ctrl-C stops watching, not the job: say so, and give the terminal its cursor back.
  const onInterrupt = () => {
    view.end(undefined);
    process.stderr.write(`tasksd: stopped watching; job ${id} keeps running ("tasksd watch ${id}", "tasksd cancel ${id}")\n`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  let finished = false;
  try {
    for await (const snap of source.watch(id)) {
      last = snap;
      view.show(snap);
    }
    finished = true;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    view.end(finished ? last : undefined);
  }
  if (!last) throw new Error(`watching job ${id} returned nothing`);
  const { progress: _progress, ...job } = last;
  return job;
}

function silentView(): View {
  return { show() {}, end() {} };
}

function lineView(out: Output): View {
  let previous = '';
  const show = (snap: JobSnapshot) => {
    const line = phaseLine(snap);
    if (line !== previous) out.write(`${line}\n`);
    previous = line;
  };
  return { show, end() {} };
}

function barView(out: Output): View {
  const bar = new SingleBar(
    {
      stream: out as NodeJS.WritableStream,
      // {remaining}, not {eta}: cli-progress fills {eta} itself, from a total that is a placeholder until the copy starts.
      format: '{phase} [{bar}] {percentage}% | {copied} / {size} | {rate} | ETA {remaining}',
      hideCursor: true,
      barsize: 30,
      fps: 10,
    },
    Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  let total = 0;
  let copied = 0;
  let rate = 0;
  let firstSample: { at: number; bytes: number } | undefined;

  const show = (snap: JobSnapshot) => {
    if (snap.progress) {
      total = snap.progress.totalBytes;
      copied = snap.progress.bytesCopied;
      firstSample ??= { at: Date.now(), bytes: copied };
      rate = bytesPerSecond(firstSample, copied); // only while copying: a pause after it is no slowdown
    } else if (snap.status === 'replaying' || snap.status === 'released') {
      total = Math.max(total, snap.bytes);
      copied = total; // the copy is done
    }
    const payload = {
      phase: snap.status.padEnd(9),
      copied: total ? formatBytes(copied) : '-',
      size: total ? formatBytes(total) : '-',
      rate: rate ? `${formatBytes(rate)}/s` : '-',
      remaining: rate && total > copied ? formatSeconds((total - copied) / rate) : '-',
    };
    // Until the copy reports its size the bar stays empty (a total of 1, not a division by zero).
    const value = total ? copied : 0;
    if (started) {
      bar.setTotal(total || 1);
      bar.update(value, payload);
    } else {
      bar.start(total || 1, value, payload);
      started = true;
    }
  };
  const end = (final: JobSnapshot | undefined) => {
    if (stopped) return;
    stopped = true;
    if (started) bar.stop();
    if (final) out.write(`${phaseLine(final)}\n`);
  };
  return { show, end };
}

function bytesPerSecond(first: { at: number; bytes: number }, bytes: number): number {
  const seconds = (Date.now() - first.at) / 1000;
  return seconds > 0.5 ? (bytes - first.bytes) / seconds : 0;
}

function formatSeconds(seconds: number): string {
  const s = Math.ceil(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
