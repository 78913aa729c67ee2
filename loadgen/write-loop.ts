// One writer's loop: puts at a steady rate, each retried while the shard refuses it
// before applying anything, and every write that ends appended to the log before the
// next starts. loadgen/writer.ts runs it as a process; the kill matrix runs one per
// shard inside the test, where the processes under test are the ones killed.
import type { TaskInput } from '../store/replicator';
import { nowMs, type WriteLog, type WriteRecord } from './log';

const FIRST_BACKOFF_MS = 2;
const MAX_BACKOFF_MS = 50;

export interface WriteLoopOptions {
  writerId: string;
  org: string;
  ns: string;
  /** Puts per second. */
  rate: number;
  /** Distinct task ids: writes cycle through them, so most are updates. */
  keys: number;
  body?: Buffer;
  /** How long one refused write is retried before it is logged refused. */
  giveUpMs: number;
  /** Ends the loop after this long (0: until stop()). */
  durationMs?: number;
  put: (task: TaskInput) => Promise<{ seq: number }>;
  /** Refusals that happen before a write applies anything, so retrying cannot double-apply. */
  retryable: (err: unknown) => boolean;
  log: WriteLog;
  onRecord?: (record: WriteRecord) => void;
}

export interface WriteLoop {
  /** Ends the loop after the write in flight; resolves once it is logged. */
  stop(): Promise<void>;
  /** Resolves when the loop has ended (its duration, or stop()). */
  done: Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export function startWriteLoop(opts: WriteLoopOptions): WriteLoop {
  let stopping = false;
  let wake: (() => void) | undefined;
  /** A sleep that stop() cuts short. */
  const pause = (ms: number) => new Promise<void>((resolve) => {
    wake = resolve;
    void sleep(ms).then(() => resolve());
  });

  async function write(n: number): Promise<WriteRecord> {
    const id = `lg-${opts.writerId}-${(n - 1) % opts.keys}`;
    const value = `lg-${opts.writerId}-${n}`;
    const startedAt = nowMs();
    const base = { writer: opts.writerId, n, id, value, startedAt };
    let backoff = FIRST_BACKOFF_MS;
    for (let attempts = 1; ; attempts++) {
      try {
        const { seq } = await opts.put({ id, title: value, body: opts.body });
        return { ...base, ok: true, seq, at: nowMs(), attempts };
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        if (!opts.retryable(err)) return { ...base, ok: false, at: nowMs(), attempts, reason };
        if (stopping) return { ...base, ok: false, at: nowMs(), attempts, reason: `stopped while refused: ${reason}` };
        if (nowMs() - startedAt > opts.giveUpMs) return { ...base, ok: false, at: nowMs(), attempts, reason: `gave up: ${reason}` };
        await sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  async function run(): Promise<void> {
    const interval = 1000 / opts.rate;
    const start = nowMs();
    const end = opts.durationMs ? start + opts.durationMs : Infinity;
    let due = start;
    for (let n = 1; !stopping && nowMs() < end; n++) {
      await pause(due - nowMs());
      if (stopping) break;
      const record = await write(n);
      opts.log.append(record);
      opts.onRecord?.(record);
      // A steady rate: after a stall, carry on at the rate instead of bursting to catch up.
      due = Math.max(due + interval, nowMs());
    }
  }

  const done = run();
  return {
    done,
    stop: async () => {
      stopping = true;
      wake?.();
      await done;
    },
  };
}
