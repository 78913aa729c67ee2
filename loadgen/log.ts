// The write log a load-generating writer keeps: one JSON line per write it finished,
// acknowledged (with the seq the shard gave it) or refused for good. The checker
// compares these lines with the final owner; the runner reads gaps and latencies
// from them. Lines are appended with write(2) as each write ends, so a writer that
// is killed loses none it had finished; close() fsyncs.
import * as fs from 'node:fs';

export interface WriteRecord {
  writer: string;
  /** The writer's own counter: writes of one writer are issued and finished in n order. */
  n: number;
  id: string;
  /** The title written: unique per write, so the final row names the write that won. */
  value: string;
  ok: boolean;
  /** The shard's seq for an acknowledged write. */
  seq?: number;
  /** Epoch ms (sub-ms precision) when the write was issued and when it ended. */
  startedAt: number;
  at: number;
  /** Attempts made, the first included: more than one means it was refused and retried. */
  attempts: number;
  /** Why a refused write was given up. */
  reason?: string;
}

export class WriteLog {
  private readonly fd: number;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a');
  }

  append(record: WriteRecord): void {
    fs.writeSync(this.fd, `${JSON.stringify(record)}\n`);
  }

  /** Makes every line durable, then closes the file. */
  close(): void {
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
}

export function readLog(file: string): WriteRecord[] {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  // A writer killed mid-line leaves at most one torn last line: that write never ended.
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as WriteRecord];
      } catch {
        return [];
      }
    });
}

/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
