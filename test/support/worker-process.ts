// A real worker in a child process (`tsx worker.ts`), so tests can SIGKILL it the way
// a crash would, mid-phase, and start another.
import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../temporal/cli-binary';

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** SIGKILL: no shutdown, no cleanup, in-flight activities abandoned. */
  kill(): Promise<void>;
  /** SIGTERM: the worker drains and exits. */
  stop(): Promise<number | null>;
}

export async function startWorkerProcess(env: {
  address: string;
  dataRoot: string;
  /** TASKSD_CATALOG, when the cluster's catalog is not SQLite under the data root. */
  catalog?: string;
  taskQueue: string;
  extra?: NodeJS.ProcessEnv;
}): Promise<WorkerProcess> {
  // One process (no tsx launcher in between), so SIGKILL hits the worker itself.
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'worker.ts'], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: 'default',
      TASKSD_DATA: env.dataRoot,
      TASKSD_TASK_QUEUE: env.taskQueue,
      ...(env.catalog ? { TASKSD_CATALOG: env.catalog } : {}),
      ...env.extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const record = (chunk: Buffer) => (output += chunk.toString());
  child.stdout!.on('data', record);
  child.stderr!.on('data', record);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      // Printed once the coordinator and every embedded node's agent are up.
      if (/tasksd worker: coordinating cluster/.test(output)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was running:\n${output}`)));
  });
  return {
    child,
    output: () => output,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Resolves once the worker has printed `text` (an event, not a sleep). */
export function waitForOutput(worker: WorkerProcess, text: string | RegExp): Promise<void> {
  const seen = () => (typeof text === 'string' ? worker.output().includes(text) : text.test(worker.output()));
  if (seen()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!seen()) return;
      worker.child.stdout!.off('data', check);
      worker.child.stderr!.off('data', check);
      resolve();
    };
    worker.child.stdout!.on('data', check);
    worker.child.stderr!.on('data', check);
    worker.child.once('exit', () => (seen() ? resolve() : reject(new Error(`worker exited before printing ${text}:\n${worker.output()}`))));
  });
}
