// Driving faults/ from a test: the environment that switches fault injection on in a
// worker or agent process, an await for its "fault point <name>: holding" line, and
// the release (the release file faults/index.ts waits for).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { releaseFile, type FaultPointName } from '../../faults';

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
