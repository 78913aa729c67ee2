// One shard = one SQLite file in WAL mode. The file carries its own state row
// (seq, lock, live/moved) so every write can check, inside its own transaction,
// that this file may still accept it (docs/CONTRACT.md invariants 1 and 3).
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { ErrorType, TasksdError } from '../common/errors';
import { ZERO_SUM } from './content-sum';

export type ShardDb = Database.Database;

export interface ShardState {
  org: string;
  ns: string;
  seq: number;
  lockedBy: string | null;
  lockSeq: number | null;
  state: 'live' | 'moved';
  movedTo: string | null;
  rows: number;
  /** The logical content checksum (store/content-sum.js), as 32 hex digits. */
  contentSum: string;
  /** The catalog's ownership epoch this file was handed at (fencing: a write checks it). */
  epoch: number;
}

export interface Task {
  id: string;
  title: string;
  body?: Buffer | null;
  seq: number;
}

const SCHEMA = `
  CREATE TABLE shard (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    org TEXT NOT NULL,
    ns TEXT NOT NULL,
    seq INTEGER NOT NULL,
    locked_by TEXT,
    lock_seq INTEGER,
    state TEXT NOT NULL CHECK (state IN ('live', 'moved')),
    moved_to TEXT,
    -- Kept by every write, so a cut-over compares two rows instead of two scans.
    row_count INTEGER NOT NULL DEFAULT 0,
    content_sum TEXT NOT NULL,
    epoch INTEGER NOT NULL DEFAULT 1
  );
  CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    body BLOB,
    seq INTEGER NOT NULL
  );
  -- Which task each frame touched: what an online move replays after its snapshot.
  CREATE TABLE changes (
    seq INTEGER PRIMARY KEY,
    op TEXT NOT NULL,
    task_id TEXT NOT NULL
  );
`;

function configure(db: ShardDb): ShardDb {
  db.pragma('busy_timeout = 10000');
  // FULL: an acknowledged write is on disk before propose() returns.
  db.pragma('synchronous = FULL');
  return db;
}

/** Creates a new shard file at `filePath` (which must not exist). */
export function createShardFile(filePath: string, org: string, ns: string): void {
  if (fs.existsSync(filePath)) {
    throw new TasksdError(ErrorType.ShardExists, `a shard file already exists at ${filePath}`);
  }
  const db = configure(new Database(filePath));
  try {
    db.pragma('journal_mode = WAL');
    db.exec(SCHEMA);
    db.prepare(`INSERT INTO shard (singleton, org, ns, seq, state, content_sum) VALUES (1, ?, ?, 0, 'live', ?)`).run(org, ns, ZERO_SUM);
  } finally {
    db.close();
  }
}

/** Opens an existing shard file. A missing path is an error, never a new empty shard. */
export function openShardFile(filePath: string, options: { readonly?: boolean } = {}): ShardDb {
  try {
    return configure(new Database(filePath, { fileMustExist: true, readonly: options.readonly ?? false }));
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CANTOPEN' || !fs.existsSync(filePath)) {
      throw new TasksdError(ErrorType.ShardMissing, `shard file ${filePath} does not exist`);
    }
    throw err;
  }
}

export function readState(db: ShardDb): ShardState {
  const row = db
    .prepare(
      `SELECT org, ns, seq, locked_by AS lockedBy, lock_seq AS lockSeq, state, moved_to AS movedTo,
              row_count AS rows, content_sum AS contentSum, epoch
       FROM shard WHERE singleton = 1`,
    )
    .get() as ShardState | undefined;
  if (!row) throw new Error(`shard file ${db.name} has no state row`);
  return row;
}

/** Runs `fn` inside BEGIN IMMEDIATE, so the state it checks cannot change before it commits. */
export function inWriteTransaction<T>(db: ShardDb, fn: () => T): T {
  return db.transaction(fn).immediate();
}
