// The source's proof of the snapshot it serves (agent/snapshots.ts): SQLite's
// quick_check and a scan that the rows add up to the state row (damage quick_check
// cannot see), each on its own thread, run while the snapshot streams to the
// destination. The destination's final digest request waits for it, so a move never
// installs a copy of a damaged shard, and nobody reads the shard an extra time before
// the copy.
//
// "The snapshot" is exactly the bytes the pin serves: the main file, frozen by the
// pin's read transaction on an empty WAL. A fresh connection would read newer WAL
// frames that online writers append (SQLite's immutable=1 would ignore the WAL, but
// better-sqlite3 is built without URI filenames). So each thread opens its own
// connection up front and joins the pin instead: while the pin takes its snapshot the
// threads begin their read transactions too, and the attempt only counts when the WAL
// is still empty after all of them began (shard-copy.ts beginSnapshot). The pin's
// thread waits for them without yielding (Atomics.wait, well under a millisecond), so
// no writer of this process gets in between: as before, only a writer of another
// process can make an attempt fail, and then it is retried. A read that
// begins on an empty WAL reads the main file alone, and the main file cannot change
// while the pin holds it, so every check reads the pinned bytes, however much is
// written meanwhile.
import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { ErrorType, TasksdError } from '../common/errors';
import { contentSum, quickCheck } from './shard-checks';
import type { ShardDb } from './shard-file';
import { judge, type ContentScan, type Damage, type Inspection } from './sqlite-thread';

const SCRIPT = path.join(__dirname, 'sqlite-thread-worker.js');
/** How long the pin's thread waits, blocked, for the check threads to begin their reads. */
const BEGIN_WAIT_MS = 2000;

type Task = 'quickCheck' | 'contentSum';
interface Reply {
  ready?: boolean;
  begun?: boolean;
  ended?: boolean;
  seq?: number;
  ok?: boolean;
  result?: Record<string, unknown>;
  message?: string;
  code?: string;
}

/** One check's thread, holding its connection (and, once begun, its read transaction) between requests. */
class JoinedThread {
  private readonly worker: Worker;
  readonly ready: Promise<void>;
  /** Rung by the thread once it answered a `begin` on `answers`. */
  private readonly bell = new Int32Array(new SharedArrayBuffer(4));
  private readonly answers: MessagePort;
  private waiter?: { resolve: (reply: Reply) => void; reject: (err: Error) => void };
  private failed?: Error;

  constructor(
    private readonly file: string,
    private readonly task: Task,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.answers = port1;
    this.worker = new Worker(SCRIPT, { workerData: { file, task, join: true, bell: this.bell, port: port2 }, transferList: [port2] });
    this.ready = this.next().then((reply) => {
      if (!reply.ready) throw this.error(reply);
    });
    this.ready.catch(() => undefined); // seen by whoever asks next
    this.worker.on('message', (reply: Reply) => {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter?.resolve(reply);
    });
    this.worker.once('error', (err) => this.fail(err));
    this.worker.once('exit', (code) => this.fail(new Error(`the check of ${file} stopped${code === 0 ? '' : ` with exit code ${code}`}`)));
  }

  /** Asks the thread (ready) to start a read transaction; `answer` has what it saw. */
  ring(): number {
    if (this.failed) throw this.failed;
    const rung = Atomics.load(this.bell, 0);
    this.worker.postMessage({ op: 'begin' });
    return rung;
  }

  /** Waits, blocking this thread, for the answer to `ring`: the seq the read transaction sees. */
  answer(rung: number, deadline: number): number {
    if (Atomics.wait(this.bell, 0, rung, Math.max(0, deadline - Date.now())) === 'timed-out') {
      throw new Error(`the check of ${this.file} did not begin its read within ${BEGIN_WAIT_MS} ms`);
    }
    const reply = receiveMessageOnPort(this.answers)?.message as Reply | undefined;
    if (!reply?.begun) throw this.error(reply ?? { message: 'no answer to begin' });
    return reply.seq!;
  }

  /** Ends the read transaction begun. */
  async end(): Promise<void> {
    const reply = await this.ask('end');
    if (!reply.ended) throw this.error(reply);
  }

  /** Runs the check inside the read transaction begun; the thread then exits. */
  async run<T>(): Promise<T> {
    const reply = await this.ask('run');
    if (!reply.ok) throw this.error(reply);
    return reply.result![this.task] as T;
  }

  /** Stops the thread at once, mid-check or not: it only reads, so that is safe. */
  async terminate(): Promise<void> {
    this.fail(new Error(`the check of ${this.file} was stopped: its snapshot was released`));
    await this.worker.terminate();
    this.answers.close();
  }

  private ask(op: 'end' | 'run'): Promise<Reply> {
    const reply = this.next();
    if (!this.failed) this.worker.postMessage({ op });
    return reply;
  }

  private next(): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private fail(err: Error): void {
    this.failed ??= err;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failed);
  }

  private error(reply: Reply): Error {
    if (reply.code === 'SQLITE_CANTOPEN') return new TasksdError(ErrorType.ShardMissing, `shard file ${this.file} does not exist`);
    return new Error(`checking ${this.file}: ${reply.message}`);
  }
}

/**
 * quick_check and the content scan of one pinned snapshot. Threads start (and open the
 * file) at once; `begin`/`end` join the pin's attempts to take its snapshot; `run`
 * checks what was joined. `terminate` stops it all (the pin was released).
 */
export class SnapshotProof implements PinProof {
  private readonly quickCheck: JoinedThread;
  private readonly contentSum: JoinedThread;

  constructor(file: string) {
    this.quickCheck = new JoinedThread(file, 'quickCheck');
    this.contentSum = new JoinedThread(file, 'contentSum');
  }

  /** The threads have opened the file. */
  async ready(): Promise<void> {
    await Promise.all([this.quickCheck.ready, this.contentSum.ready]);
  }

  /**
   * Begins a read transaction in each thread, in parallel, and waits for them without
   * yielding; the seqs they see. Called while the pin's own read transaction is open.
   */
  begin(): number[] {
    const deadline = Date.now() + BEGIN_WAIT_MS;
    const threads = [this.quickCheck, this.contentSum];
    const rungs = threads.map((thread) => thread.ring());
    return threads.map((thread, i) => thread.answer(rungs[i], deadline));
  }

  /** The pin's attempt did not hold: the threads let go, to join the next one. */
  async end(): Promise<void> {
    await Promise.all([this.quickCheck.end(), this.contentSum.end()]);
  }

  /** Both checks, in parallel, of the snapshot joined: the scan when it is sound, else its damage. */
  async run(): Promise<Inspection> {
    const [problems, scan] = await Promise.allSettled([this.quickCheck.run<string[]>(), this.contentSum.run<ContentScan>()]);
    return judge(problems, scan);
  }

  async terminate(): Promise<void> {
    await Promise.allSettled([this.quickCheck.terminate(), this.contentSum.terminate()]);
  }
}

/** What proves a pin: two joined threads (SnapshotProof), or the pin's own connection (InlineProof). */
export interface PinProof {
  ready(): Promise<void>;
  begin(): number[];
  end(): Promise<void>;
  run(): Promise<Inspection>;
  terminate(): Promise<void>;
}

/**
 * At most this many bytes are proven on the pin's own connection instead of on two
 * threads: starting a thread (an isolate, better-sqlite3 loaded) costs tens of ms of
 * CPU, far more than checking a small shard, which blocks the event loop a few ms.
 */
export const INLINE_PROOF_BYTES = 1024 * 1024;

/**
 * The proof of a small snapshot, read through the pin's own read transaction (which is
 * the snapshot), on the pin's thread once the pin is taken. Nothing to join.
 */
export class InlineProof implements PinProof {
  private db?: ShardDb;

  ready(): Promise<void> {
    return Promise.resolve();
  }

  begin(): number[] {
    return [];
  }

  end(): Promise<void> {
    return Promise.resolve();
  }

  /** The pin's connection, inside its read transaction: `run` reads through it. */
  joinedBy(db: ShardDb): this {
    this.db = db;
    return this;
  }

  /** Runs at once (before its first await), inside the pin's read transaction. */
  async run(): Promise<Inspection> {
    const db = this.db;
    if (!db?.inTransaction) throw new Error('the proof was asked to run outside the pinned snapshot');
    return judge(settled(() => quickCheck(db)), settled(() => contentSum(db)));
  }

  terminate(): Promise<void> {
    return Promise.resolve();
  }
}

function settled<T>(read: () => T): PromiseSettledResult<T> {
  try {
    return { status: 'fulfilled', value: read() };
  } catch (reason) {
    return { status: 'rejected', reason };
  }
}

/** What the source answers when its snapshot's proof found damage: the move fails and rolls back. */
export function sourceDamaged(source: string, damage: Damage): string {
  const refusal = 'refusing to copy a damaged shard, restore it from a backup first (the move was rolled back: nothing was changed)';
  if (damage.kind === 'structure') {
    return `${source} fails PRAGMA quick_check (${damage.problems.slice(0, 3).join('; ')}); ${refusal}`;
  }
  const { rows, sum, storedRows, storedSum } = damage.scan;
  return (
    `${source} is damaged: its rows add up to ${rows} rows with content checksum ${sum}, but its state row records ` +
    `${storedRows} rows with ${storedSum} (a change on disk that SQLite did not make); ${refusal}`
  );
}
