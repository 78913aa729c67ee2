// Long SQLite reads (quick_check, a content-checksum scan) on worker threads; see
// sqlite-thread-worker.js for why. The two run in parallel on separate threads.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ErrorType, TasksdError } from '../common/errors';

export interface ContentScan {
  seq: number;
  /** What the shard's state row claims. */
  storedRows: number;
  storedSum: string;
  /** What the rows actually add up to. */
  rows: number;
  sum: string;
}

const SCRIPT = path.join(__dirname, 'sqlite-thread-worker.js');

/**
 * Threads that finished a check wait this long for the next before exiting: starting a
 * thread (an isolate, better-sqlite3 loaded) costs tens of ms of CPU, more than a whole
 * check of a small shard, so many small moves reuse them; an agent at rest holds none.
 */
const IDLE_THREAD_MS = 2_000;
/** At most this many idle threads are kept (a move runs two checks at once). */
const MAX_IDLE_THREADS = 4;

interface IdleThread {
  worker: Worker;
  timer: NodeJS.Timeout;
  /** A thread that dies while idle leaves the list. */
  onExit: () => void;
}
const idle: IdleThread[] = [];

function takeThread(): Worker {
  const kept = idle.pop();
  if (!kept) return new Worker(SCRIPT);
  clearTimeout(kept.timer);
  kept.worker.off('exit', kept.onExit);
  kept.worker.ref();
  return kept.worker;
}

/** A thread whose check ended cleanly waits for the next; one too many, or idle too long, exits. */
function giveBack(worker: Worker): void {
  if (idle.length >= MAX_IDLE_THREADS) {
    void worker.terminate();
    return;
  }
  worker.unref();
  const drop = () => {
    const at = idle.indexOf(entry);
    if (at >= 0) idle.splice(at, 1);
  };
  const entry: IdleThread = {
    worker,
    timer: setTimeout(() => {
      drop();
      worker.off('exit', entry.onExit);
      void worker.terminate();
    }, IDLE_THREAD_MS).unref(),
    onExit: () => {
      clearTimeout(entry.timer);
      drop();
    },
  };
  worker.once('exit', entry.onExit);
  idle.push(entry);
}

function runInThread<T>(file: string, task: 'quickCheck' | 'contentSum', signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const worker = takeThread();
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    // A cancelled check stops at once: the thread only reads, so terminating it is safe.
    const onAbort = () => {
      done();
      reject(signal!.reason);
      void worker.terminate();
    };
    const onMessage = (message: { ok: boolean; result?: Record<string, T>; message?: string; code?: string }) => {
      done();
      giveBack(worker);
      if (message.ok) resolve(message.result![task]);
      else if (message.code === 'SQLITE_CANTOPEN') reject(new TasksdError(ErrorType.ShardMissing, `shard file ${file} does not exist`));
      else reject(new Error(`checking ${file}: ${message.message}`));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
      void worker.terminate();
    };
    const onExit = (code: number) => {
      done();
      reject(new Error(`the check of ${file} stopped with exit code ${code}`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.postMessage({ file, task });
  });
}

/** SQLite's structural check; an empty list means the file is sound. */
export async function structuralProblems(file: string, signal?: AbortSignal): Promise<string[]> {
  const result = await runInThread<string[]>(file, 'quickCheck', signal);
  return result.length === 1 && result[0] === 'ok' ? [] : result;
}

/** What is wrong with a file on its own terms: its structure, or rows that do not add up to its state row. */
export type Damage = { kind: 'structure'; problems: string[] } | { kind: 'content'; scan: ContentScan };

/** quick_check and a full content scan, in parallel: the scan when the file is sound, else its damage. */
export async function inspectFile(file: string, signal?: AbortSignal): Promise<{ scan: ContentScan; damage?: undefined } | { damage: Damage }> {
  const [problems, scan] = await Promise.allSettled([
    structuralProblems(file, signal),
    runInThread<ContentScan>(file, 'contentSum', signal),
  ]);
  if (problems.status === 'rejected') throw problems.reason;
  if (problems.value.length > 0) return { damage: { kind: 'structure', problems: problems.value } };
  if (scan.status === 'rejected') throw scan.reason;
  const { rows, storedRows, sum, storedSum } = scan.value;
  if (rows !== storedRows || sum !== storedSum) return { damage: { kind: 'content', scan: scan.value } };
  return { scan: scan.value };
}

/**
 * Proves a copy's rows add up to what its state row (the source's, copied) claims.
 * Throws VerificationFailed naming what is wrong.
 */
export async function verifyContent(file: string, what: string, signal?: AbortSignal): Promise<ContentScan> {
  const inspected = await inspectFile(file, signal);
  if (!inspected.damage) return inspected.scan;
  const { damage } = inspected;
  if (damage.kind === 'structure') {
    throw new TasksdError(ErrorType.VerificationFailed, `${what} fails PRAGMA quick_check: ${damage.problems.slice(0, 3).join('; ')}`);
  }
  const { rows, storedRows, sum, storedSum } = damage.scan;
  throw new TasksdError(
    ErrorType.VerificationFailed,
    `${what} does not match the source: ${rows} rows with content checksum ${sum}, the source had ${storedRows} rows with ${storedSum}`,
  );
}
