// Settings read from the environment (SPEC): where the cluster lives and which task
// queue the migrations use. Node-only: the workflow bundle never imports this.
import * as path from 'node:path';
import { DEFAULT_TASK_QUEUE } from './names';

export function dataRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.TASKSD_DATA || './data');
}

export function taskQueue(env: NodeJS.ProcessEnv = process.env): string {
  return env.TASKSD_TASK_QUEUE || DEFAULT_TASK_QUEUE;
}

/** Keep each moved source under a name no command reports as a shard (TASKSD_RETAIN_SOURCE=1). */
export function retainSource(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.TASKSD_RETAIN_SOURCE === '1' || env.TASKSD_RETAIN_SOURCE === 'true';
}
