// Long SQLite reads (quick_check, content checksum) on a worker thread; see
// sqlite-thread-worker.js for why.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ErrorType, TasksdError } from '../common/errors';
import type { Fingerprint } from './verify';

export interface ThreadCheck {
  quickCheck?: string[];
  fingerprint?: Fingerprint;
}

const SCRIPT = path.join(__dirname, 'sqlite-thread-worker.js');

export function checkInThread(file: string, task: ('quickCheck' | 'fingerprint')[]): Promise<ThreadCheck> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SCRIPT, { workerData: { file, task } });
    worker.once('message', (message: { ok: boolean; result?: ThreadCheck; message?: string; code?: string }) => {
      if (message.ok) resolve(message.result!);
      else if (message.code === 'SQLITE_CANTOPEN') reject(new TasksdError(ErrorType.ShardMissing, `shard file ${file} does not exist`));
      else reject(new Error(`checking ${file}: ${message.message}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the check of ${file} stopped with exit code ${code}`));
    });
  });
}

/** The content fingerprint, or a VerificationFailed error when quick_check finds damage first. */
export async function verifiedFingerprint(file: string, what: string): Promise<Fingerprint> {
  const { quickCheck, fingerprint } = await checkInThread(file, ['quickCheck', 'fingerprint']);
  if (quickCheck && quickCheck.join() !== 'ok') {
    throw new TasksdError(ErrorType.VerificationFailed, `${what} fails PRAGMA quick_check: ${quickCheck.slice(0, 3).join('; ')}`);
  }
  return fingerprint!;
}

export async function fingerprintOf(file: string): Promise<Fingerprint> {
  return (await checkInThread(file, ['fingerprint'])).fingerprint!;
}
