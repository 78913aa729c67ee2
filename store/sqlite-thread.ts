// Long SQLite reads (quick_check, a content-checksum scan) on worker threads; see
// sqlite-thread-worker.js for why. The two run in parallel on separate threads. These
// check a file as committed now; a source's pinned snapshot is proven by
// snapshot-proof.ts instead, whose threads read exactly what the pin serves.
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

function runInThread<T>(file: string, task: 'quickCheck' | 'contentSum', signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const worker = new Worker(SCRIPT, { workerData: { file, task } });
    // A cancelled check stops at once: the thread only reads, so terminating it is safe.
    const onAbort = () => {
      reject(signal!.reason);
      void worker.terminate();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('exit', () => signal?.removeEventListener('abort', onAbort));
    worker.once('message', (message: { ok: boolean; result?: Record<string, T>; message?: string; code?: string }) => {
      if (message.ok) resolve(message.result![task]);
      else if (message.code === 'SQLITE_CANTOPEN') reject(new TasksdError(ErrorType.ShardMissing, `shard file ${file} does not exist`));
      else reject(new Error(`checking ${file}: ${message.message}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the check of ${file} stopped with exit code ${code}`));
    });
  });
}

/** SQLite's structural check; an empty list means the file is sound. */
export async function structuralProblems(file: string, signal?: AbortSignal): Promise<string[]> {
  return soundOrProblems(await runInThread<string[]>(file, 'quickCheck', signal));
}

/** What is wrong with a file on its own terms: its structure, or rows that do not add up to its state row. */
export type Damage = { kind: 'structure'; problems: string[] } | { kind: 'content'; scan: ContentScan };

export type Inspection = { scan: ContentScan; damage?: undefined } | { damage: Damage };

/** quick_check and a full content scan, in parallel: the scan when the file is sound, else its damage. */
export async function inspectFile(file: string, signal?: AbortSignal): Promise<Inspection> {
  const [problems, scan] = await Promise.allSettled([
    runInThread<string[]>(file, 'quickCheck', signal),
    runInThread<ContentScan>(file, 'contentSum', signal),
  ]);
  return judge(problems, scan);
}

/** The verdict of quick_check's rows and a content scan: structure first (a broken file can fail the scan too). */
export function judge(quickCheck: PromiseSettledResult<string[]>, scan: PromiseSettledResult<ContentScan>): Inspection {
  if (quickCheck.status === 'rejected') throw quickCheck.reason;
  const problems = soundOrProblems(quickCheck.value);
  if (problems.length > 0) return { damage: { kind: 'structure', problems } };
  if (scan.status === 'rejected') throw scan.reason;
  const { rows, storedRows, sum, storedSum } = scan.value;
  if (rows !== storedRows || sum !== storedSum) return { damage: { kind: 'content', scan: scan.value } };
  return { scan: scan.value };
}

function soundOrProblems(result: string[]): string[] {
  return result.length === 1 && result[0] === 'ok' ? [] : result;
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
