// Settings read from the environment (docs/CONTRACT.md): where the cluster lives and which task
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

/** Seconds between the reconciler's passes (TASKSD_RECONCILE_INTERVAL, default 30). */
export function reconcileIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  return seconds(env.TASKSD_RECONCILE_INTERVAL, 30, 'TASKSD_RECONCILE_INTERVAL') * 1000;
}

/**
 * Seconds a job must have been over before its claim is reconciled (TASKSD_RECONCILE_GRACE,
 * default 30): longer than any activity of a terminated job takes to notice and stop.
 */
export function reconcileGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  return seconds(env.TASKSD_RECONCILE_GRACE, 30, 'TASKSD_RECONCILE_GRACE') * 1000;
}

function seconds(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0 || parsed > 86_400) {
    throw new Error(`${name}=${JSON.stringify(value.slice(0, 40))} is not valid: give a number of seconds above 0 and at most 86400`);
  }
  return parsed;
}

/** TASKSD_CATALOG: unset (SQLite under the data root), `sqlite:PATH`, or a postgres:// URL. */
export function catalogSetting(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.TASKSD_CATALOG || undefined;
}
