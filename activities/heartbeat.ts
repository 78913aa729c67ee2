// Keeps an activity visibly alive while it waits on work that cannot report progress
// itself (a thread running quick_check, an fsync): one heartbeat a second. It waits
// for the work to settle even when the activity is cancelled — the work must stop on
// Context.current().cancellationSignal itself — so nothing runs on after the activity
// has reported, racing the rollback.
import { Context } from '@temporalio/activity';

export async function heartbeatWhile<T>(work: Promise<T>, details: () => unknown = () => undefined): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(details()), 1000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/**
 * Keeps the current activity (if any) alive while something below it waits, such as a
 * catalog call waiting for PostgreSQL to come back, without losing the progress the
 * last attempt reported. Outside an activity it does nothing.
 */
export function heartbeatIfInActivity(): void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return;
  }
  ctx.heartbeat(ctx.info.heartbeatDetails);
}
