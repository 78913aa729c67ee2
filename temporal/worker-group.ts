// Temporal workers that run together and stop together: the coordinator's and the
// embedded node agents', to which an agent can be added while the others run (a node
// added with `tasksd node add` while `npm start` runs).
import type { Worker } from '@temporalio/worker';

export class WorkerGroup {
  private readonly workers: Worker[] = [];
  private readonly runs: Promise<void>[] = [];
  private stopping = false;

  /** Starts running `worker` with the others. */
  add(worker: Worker): void {
    if (this.stopping) throw new Error('the workers are stopping; no worker can join');
    this.workers.push(worker);
    this.runs.push(worker.run());
  }

  /** Resolves when every worker has stopped (SIGINT/SIGTERM drain them all); rejects if one fails. */
  async whenStopped(): Promise<void> {
    for (let seen = 0; seen < this.runs.length; seen = this.runs.length) await Promise.all(this.runs);
  }

  /** Drains every worker: in-flight tasks finish, then each stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const worker of this.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.allSettled(this.runs);
  }
}
