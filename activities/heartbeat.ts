// Keeps an activity visibly alive while it waits on work that cannot report progress
// itself (a thread running quick_check, an fsync): one heartbeat a second.
import { Context } from '@temporalio/activity';

export async function heartbeatWhile<T>(work: Promise<T>, details: () => unknown = () => undefined): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(details()), 1000);
  try {
    return await Promise.race([work, ctx.cancelled as Promise<never>]);
  } finally {
    clearInterval(timer);
  }
}
