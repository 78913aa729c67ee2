// Runs N writer processes (loadgen/writer.ts) against one shard and reports what they
// saw: acknowledged and refused writes, the longest gap between acknowledgements
// overall and within each marked window (a move), and the worst write latency.
// Writers are separate processes so a move is exercised against other processes'
// connections, as in production, and the caller's own work never delays a write.
// They write through the local replicator by default, or through the owner's node
// agent with `via: 'agent'`.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { longestGap, type Gap } from './gaps';
import { nowMs, readLog, type WriteRecord } from './log';

const PROJECT_ROOT = path.resolve(__dirname, '..');
const WRITER = path.join(__dirname, 'writer.ts');

export interface StartWritersOptions {
  dataRoot: string;
  /** TASKSD_CATALOG of the cluster, passed to each writer (default: this process's). */
  catalog?: string;
  org: string;
  ns: string;
  writers: number;
  /** Puts per second, per writer. */
  ratePerSec: number;
  /** Where the writers' logs go (created if missing); one `writer-<i>.jsonl` each. */
  logDir: string;
  /** Distinct task ids per writer (writes cycle through them, so most are updates). Default 100. */
  keys?: number;
  bodyBytes?: number;
  /** How long a writer retries one refused write before logging it refused. Default 30 s. */
  giveUpMs?: number;
  /**
   * How the writers write: `local` (default) applies each put to the owner's file from the
   * writer process; `agent` sends it to the owner's node agent over HTTP with the cluster
   * token (TASKSD_CLUSTER_TOKEN, or cluster.token under dataRoot), as an application on
   * another host would. Either way the logs are the same, for checkWrites.
   */
  via?: 'local' | 'agent';
  /**
   * Writer ids are `<prefix>1`, `<prefix>2`, … (default `w`). Task ids and values derive
   * from them, so writers started again on the same shard need a new prefix for their
   * logs to be checked on their own.
   */
  writerIdPrefix?: string;
}

export interface WindowReport {
  label: string;
  fromMs: number;
  toMs: number;
  /** The longest gap between acknowledgements (all writers) overlapping the window. */
  longestGap: Gap;
  /** The slowest write (issue → acknowledgement, retries included) that ended in the window. */
  maxLatencyMs: number;
  /** Writes that needed more than one attempt, ending in the window. */
  retried: number;
}

export interface WriterReport {
  writers: number;
  acked: number;
  refused: number;
  retried: number;
  durationMs: number;
  longestGap: Gap;
  maxLatencyMs: number;
  windows: WindowReport[];
  logs: string[];
}

export interface RunningWriters {
  logs: string[];
  /** Acknowledgement times so far (epoch ms, all writers, in arrival order). */
  readonly acks: number[];
  /** Resolves after `count` more acknowledgements (all writers together): an event to wait on, not a sleep. */
  waitForAcks(count: number): Promise<void>;
  /** Names an interval (e.g. one move) whose longest gap the report should give. */
  mark(label: string, fromMs: number, toMs: number): void;
  /** Stops every writer (each finishes or gives up its current write and fsyncs its log). */
  stop(): Promise<WriterReport>;
}

export async function startWriters(opts: StartWritersOptions): Promise<RunningWriters> {
  fs.mkdirSync(opts.logDir, { recursive: true });
  const logs = Array.from({ length: opts.writers }, (_, i) => path.join(opts.logDir, `writer-${i + 1}.jsonl`));
  for (const log of logs) fs.rmSync(log, { force: true });
  const acks: number[] = [];
  const waiters: { target: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  const windows: { label: string; fromMs: number; toMs: number }[] = [];
  let failure: Error | undefined;
  const started = nowMs();

  const fail = (err: Error) => {
    failure ??= err;
    for (const w of waiters.splice(0)) w.reject(err);
  };
  const onAck = (at: number) => {
    acks.push(at);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (acks.length >= waiters[i].target) waiters.splice(i, 1)[0].resolve();
    }
  };

  const children = logs.map((log, i) => spawnWriter(opts, `${opts.writerIdPrefix ?? 'w'}${i + 1}`, log, onAck, fail));
  await Promise.all(children.map((c) => c.ready));

  return {
    logs,
    acks,
    waitForAcks(count) {
      if (failure) return Promise.reject(failure);
      const target = acks.length + count;
      return new Promise((resolve, reject) => waiters.push({ target, resolve, reject }));
    },
    mark(label, fromMs, toMs) {
      windows.push({ label, fromMs, toMs });
    },
    async stop() {
      await Promise.all(children.map((c) => c.stop()));
      if (failure) throw failure;
      return report(logs.flatMap(readLog), logs, windows, nowMs() - started, opts.writers);
    },
  };
}

interface WriterChild {
  ready: Promise<void>;
  stop(): Promise<void>;
}

function spawnWriter(opts: StartWritersOptions, id: string, log: string, onAck: (at: number) => void, fail: (err: Error) => void): WriterChild {
  const args = [
    ...['--data', opts.dataRoot, '--org', opts.org, '--ns', opts.ns, '--log', log, '--writer-id', id],
    ...['--rate', String(opts.ratePerSec), '--duration-ms', '0', '--keys', String(opts.keys ?? 100)],
    ...['--body-bytes', String(opts.bodyBytes ?? 0), '--give-up-ms', String(opts.giveUpMs ?? 30_000), '--via', opts.via ?? 'local'],
  ];
  // One process (no tsx launcher between), so signals reach the writer itself.
  const child: ChildProcess = spawn(process.execPath, ['--require', 'tsx/cjs', WRITER, ...args], {
    cwd: PROJECT_ROOT,
    env: opts.catalog ? { ...process.env, TASKSD_CATALOG: opts.catalog } : process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let pending = '';
  let stopping = false;
  let markReady: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') markReady();
      else if (line.startsWith('ack ')) onAck(Number(line.split(' ')[2]));
    }
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      if (!stopping || code !== 0) fail(new Error(`writer ${id} exited (code ${code}, signal ${signal}) ${stopping ? 'while stopping' : 'unexpectedly'}: ${stderr.trim()}`));
      resolve();
    });
  });
  return {
    ready: Promise.race([ready, exited.then(() => Promise.reject(new Error(`writer ${id} did not start: ${stderr.trim()}`)))]),
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function report(records: WriteRecord[], logs: string[], marks: { label: string; fromMs: number; toMs: number }[], durationMs: number, writers: number): WriterReport {
  const acked = records.filter((r) => r.ok);
  const acks = acked.map((r) => r.at).sort((a, b) => a - b);
  const latency = (r: WriteRecord) => r.at - r.startedAt;
  const maxOf = (values: number[]) => values.reduce((m, v) => Math.max(m, v), 0);
  return {
    writers,
    acked: acked.length,
    refused: records.length - acked.length,
    retried: records.filter((r) => r.attempts > 1).length,
    durationMs,
    longestGap: longestGap(acks),
    maxLatencyMs: maxOf(acked.map(latency)),
    windows: marks.map((m) => {
      const inside = acked.filter((r) => r.at >= m.fromMs && r.at <= m.toMs);
      return {
        ...m,
        longestGap: longestGap(acks, m.fromMs, m.toMs),
        maxLatencyMs: maxOf(inside.map(latency)),
        retried: inside.filter((r) => r.attempts > 1).length,
      };
    }),
    logs,
  };
}
