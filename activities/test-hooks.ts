// Fault and pacing hooks the crash and bad-input tests switch on through the worker's
// environment. Production workers leave them unset; each one only slows or breaks a
// copy, or makes a destination look full.
import { Context } from '@temporalio/activity';

export interface ActivityTestHooks {
  /** Caps the copy rate, giving crash tests a wide mid-copy window without sleeps. */
  copyBytesPerSecond?: number;
  /** Fails the copy after its first chunk with this errno code (e.g. ENOSPC). */
  failCopyWith?: string;
  /** Flips a byte of every copy before verification. */
  corruptCopy?: boolean;
  /** Pretends every destination has this many bytes free (TASKSD_TEST_FREE_BYTES), so no test fills a disk. */
  freeBytes?: number;
  /** Parks an activity before or after its work (until the worker is killed), e.g. "lock:after". */
  hold?: { activity: string; when: 'before' | 'after' };
}

export function testHooksFromEnv(env: NodeJS.ProcessEnv = process.env): ActivityTestHooks {
  const rate = Number(env.TASKSD_TEST_COPY_BYTES_PER_SEC);
  const free = env.TASKSD_TEST_FREE_BYTES ? Number(env.TASKSD_TEST_FREE_BYTES) : NaN;
  return {
    freeBytes: Number.isSafeInteger(free) && free >= 0 ? free : undefined,
    copyBytesPerSecond: Number.isFinite(rate) && rate > 0 ? rate : undefined,
    failCopyWith: env.TASKSD_TEST_FAIL_COPY || undefined,
    corruptCopy: env.TASKSD_TEST_CORRUPT_COPY === '1',
    hold: parseHold(env.TASKSD_TEST_HOLD),
  };
}

function parseHold(value: string | undefined): ActivityTestHooks['hold'] {
  const match = /^(\w+):(before|after)$/.exec(value ?? '');
  return match ? { activity: match[1], when: match[2] as 'before' | 'after' } : undefined;
}

/** Wraps an activity so a crash test can park it at a known point and kill the worker there. */
export function holdable<A extends unknown[], R>(
  name: string,
  hold: ActivityTestHooks['hold'],
  fn: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  if (!hold || hold.activity !== name) return fn;
  const park = async () => {
    const ctx = Context.current();
    if (ctx.info.attempt > 1) return; // only the first attempt parks, so a retry can finish the job
    console.log(`tasksd test hook: holding ${name}:${hold.when}`);
    await ctx.cancelled;
  };
  return async (...args: A) => {
    if (hold.when === 'before') await park();
    const result = await fn(...args);
    if (hold.when === 'after') await park();
    return result;
  };
}
