// Driving faults/ from a test: the environment that switches fault injection on in a
// worker or agent process, an await for its "fault point <name>: holding" line, and
// the release (the release file faults/index.ts waits for).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { armFile, releaseFile, type FaultPointName } from '../../faults';

/** A process whose output the test reads (WorkerProcess, AgentProcess). */
export interface Observed {
  child: ChildProcess;
  output(): string;
}

export class Faults {
  /** TASKSD_FAULTS_DIR: where release files go. Removed by cleanup(). */
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tasksd-faults-'));

  /** TASKSD_FAULTS=1, this release directory, and the fault settings (TASKSD_TEST_*). */
  env(settings: { TASKSD_TEST_HOLD?: FaultPointName | FaultPointName[] } & Record<string, string | string[] | undefined> = {}): NodeJS.ProcessEnv {
    const flat = Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
    return { TASKSD_FAULTS: '1', TASKSD_FAULTS_DIR: this.dir, ...flat };
  }

  /** Resolves once `proc` prints that it holds at `point`; rejects if it exits first or after timeoutMs. */
  holding(proc: Observed, point: FaultPointName, timeoutMs = 60_000): Promise<void> {
    return waitForLine(proc, `fault point ${point}: holding`, timeoutMs);
  }

  /** Lets every process holding at `point` (with this directory) go on. */
  release(point: FaultPointName): void {
    fs.writeFileSync(releaseFile(this.dir, point), `released by the test at ${new Date().toISOString()}\n`);
  }

  /** With TASKSD_TEST_ARMED_HOLDS=1: the job `jobId` holds at `point` (its first attempt) until releaseJob. */
  arm(point: FaultPointName, jobId: string): void {
    fs.writeFileSync(armFile(this.dir, point, jobId), '');
  }

  /** Resolves once any of `procs` prints that it holds job `jobId` at `point`. */
  holdingJob(procs: Observed[], point: FaultPointName, jobId: string, timeoutMs = 120_000): Promise<Observed> {
    const text = `fault point ${point}@${jobId}: holding`;
    return Promise.race([
      ...procs.map((proc) => watcherOf(proc).waitFor(text).then(() => proc)),
      new Promise<never>((_, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no process printed "${text}" within ${timeoutMs} ms:\n${procs.map((p) => p.output().slice(-2000)).join('\n---\n')}`)),
          timeoutMs,
        );
        timer.unref();
      }),
    ]);
  }

  /** Lets job `jobId` go on at `point`. */
  releaseJob(point: FaultPointName, jobId: string): void {
    this.release(`${point}@${jobId}` as FaultPointName);
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The "fault point <name>: holding" line a held process prints. */
export const holdingLine = (point: FaultPointName) => `fault point ${point}: holding`;

function waitForLine(proc: Observed, text: string, timeoutMs: number): Promise<void> {
  if (proc.output().includes(text)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      proc.child.stdout?.off('data', check);
      proc.child.stderr?.off('data', check);
      proc.child.off('exit', exited);
      if (err) reject(err);
      else resolve();
    };
    const check = () => {
      if (proc.output().includes(text)) done();
    };
    const exited = () => setImmediate(() => (proc.output().includes(text) ? done() : done(new Error(`process exited before printing "${text}":\n${proc.output()}`))));
    const timer = setTimeout(() => done(new Error(`no "${text}" within ${timeoutMs} ms:\n${proc.output()}`)), timeoutMs);
    proc.child.stdout?.on('data', check);
    proc.child.stderr?.on('data', check);
    proc.child.once('exit', exited);
  });
}

/**
 * One listener per process for any number of awaited lines (the kill matrix awaits
 * dozens at once): each chunk is scanned once, with the tail of the output before it
 * so a line split across chunks is still found.
 */
class OutputWatcher {
  private readonly waiting = new Map<string, Array<() => void>>();
  private scanned = 0;

  constructor(private readonly proc: Observed) {
    const scan = () => this.scan();
    proc.child.stdout?.on('data', scan);
    proc.child.stderr?.on('data', scan);
  }

  waitFor(text: string): Promise<void> {
    if (this.proc.output().includes(text)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.set(text, [...(this.waiting.get(text) ?? []), resolve]));
  }

  private scan(): void {
    const output = this.proc.output();
    const longest = Math.max(0, ...[...this.waiting.keys()].map((t) => t.length));
    const fresh = output.slice(Math.max(0, this.scanned - longest));
    this.scanned = output.length;
    for (const [text, resolvers] of this.waiting) {
      if (!fresh.includes(text)) continue;
      this.waiting.delete(text);
      resolvers.forEach((resolve) => resolve());
    }
  }
}

const watchers = new WeakMap<Observed, OutputWatcher>();

function watcherOf(proc: Observed): OutputWatcher {
  let watcher = watchers.get(proc);
  if (!watcher) watchers.set(proc, (watcher = new OutputWatcher(proc)));
  return watcher;
}
