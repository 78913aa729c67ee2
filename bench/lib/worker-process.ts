// The product's worker as operators run it (`node --require tsx/cjs worker.ts`), one
// process per worker, so its CPU and memory can be read from /proc by pid and no
// bench bookkeeping shares its event loop.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { PROJECT_ROOT } from '../../temporal/cli-binary';

export interface BenchWorker {
  pid: number;
  taskQueue: string;
  stop(): Promise<void>;
}

const READY = /tasksd worker: coordinating cluster/;

export async function startWorker(opts: { address: string; dataRoot: string; taskQueue: string; logFile: string }): Promise<BenchWorker> {
  const log = fs.openSync(opts.logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, ['--require', 'tsx/cjs', 'worker.ts'], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: opts.address,
      TEMPORAL_NAMESPACE: 'default',
      TASKSD_DATA: opts.dataRoot,
      TASKSD_TASK_QUEUE: opts.taskQueue,
    },
    stdio: ['ignore', 'pipe', log],
  });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      fs.appendFileSync(opts.logFile, chunk);
      seen += chunk.toString();
      if (READY.test(seen)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before serving; see ${opts.logFile}`)));
  });
  return {
    pid: child.pid!,
    taskQueue: opts.taskQueue,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
