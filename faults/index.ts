// Fault injection: the one module that owns every fault point of a move. Production
// code asks it at each point ("may I go on?", "how fast may this copy go?") and gets
// the no-op answer unless the process was started with the switch.
//
// The switch: TASKSD_FAULTS=1 in the environment of `npm start` (worker.ts) or `tasksd
// node serve`. Only then are the TASKSD_TEST_* variables below read, and the process's
// FIRST log line says "fault injection ENABLED: …" with every active point. Without the
// switch they are ignored, and the process warns once that they are (a variable leaked
// into a real deployment must not keep shards locked, throttle or fail every move).
//
//   TASKSD_TEST_HOLD=<point>[,<point>…]   hold at these points (names: FAULT_POINTS below)
//   TASKSD_TEST_ARMED_HOLDS=1             hold one job at one point when the test arms it:
//                                         <dir>/<point>@<job id>.hold exists (the kill matrix
//                                         parks dozens of moves, each at its own point)
//   TASKSD_FAULTS_DIR=<dir>               where release files are looked for (default: a
//                                         tasksd-faults-<pid> directory under the OS temp dir)
//   TASKSD_TEST_COPY_BYTES_PER_SEC=<n>    caps every copy's rate
//   TASKSD_TEST_FAIL_COPY=<errno code>    fails every copy after its first chunk (e.g. ENOSPC)
//   TASKSD_TEST_CORRUPT_COPY=1            flips a byte of every copy on its way in (before the destination hashes it)
//   TASKSD_TEST_FREE_BYTES=<n>            every destination reports this much free space
//
// Holding and releasing: a process that reaches a held point prints, on stdout,
//   fault point <name>: holding (release: <TASKSD_FAULTS_DIR>/<name>.release)
// (an armed hold names its job: "fault point <name>@<job id>: holding (release: …/<name>@<job id>.release)")
// and waits (heartbeating, if inside an activity) until that release file exists, then
// goes on; it also ends the wait when the activity is cancelled, or when the process is
// killed. Only an activity's first attempt holds, so the retry after a kill finishes the
// job. A release file stays valid: a point whose file exists does not hold again.
// test/support/faults.ts waits for the holding line and writes the release file.
//
// In-process tests (test/support/fixtures.ts withWorker) pass the same settings as a
// FaultConfig object and get testFaults(config); nothing there reads the environment.
import { Context } from '@temporalio/activity';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openShardFile } from '../store/shard-file';

/** Every activity that has `<name>:before` and `<name>:after` points. */
export const ACTIVITY_POINTS = [
  // coordinator
  'claim', 'handOff', 'release', 'ownerOf',
  // node agents
  'inspectSource', 'checkDestination', 'lock', 'pinSnapshot', 'checkpointAndCopy', 'catchUp', 'replay',
  'unlock', 'retire', 'discardCopy', 'unlockInPlace',
] as const;

/** Points inside a step, between the writes it makes. */
export const INSIDE_POINTS = {
  'install:after-rename': 'the copy renamed to the shard name, its directory not yet fsynced',
  'checkpointAndCopy:after-install': 'the copy installed (held by the job), the activity not yet reported',
  'unlock:after-release': "the destination's lock released at the new epoch, the activity not yet reported",
  'retire:after-mark': 'the source marked moved, not yet removed',
  'discardCopy:after-remove': "the job's copy removed from the destination, the activity not yet reported",
  'unlockInPlace:after-unlock': "rollback: the source's lock lifted, its snapshot pin not yet dropped",
} as const;

export type InsidePoint = keyof typeof INSIDE_POINTS;
export type FaultPointName = InsidePoint | `${(typeof ACTIVITY_POINTS)[number]}:${'before' | 'after'}`;

export function isFaultPoint(name: string): name is FaultPointName {
  if (name in INSIDE_POINTS) return true;
  const m = /^(\w+):(before|after)$/.exec(name);
  return !!m && (ACTIVITY_POINTS as readonly string[]).includes(m[1]);
}

/** The settings of a test: in-process (withWorker's hooks), or read from the environment with the switch on. */
export interface FaultConfig {
  /** Caps the copy rate. */
  copyBytesPerSecond?: number;
  /** Fails the copy after its first chunk with this errno code (e.g. ENOSPC). */
  failCopyWith?: string;
  /** Flips a byte of every copy on its way in, before the destination hashes it. */
  corruptCopy?: boolean;
  /** Pretends every destination has this many bytes free, so no test fills a disk. */
  freeBytes?: number;
  /** Holds an activity before or after its work, e.g. { activity: 'lock', when: 'after' } (the point lock:after). */
  hold?: { activity: string; when: 'before' | 'after' };
  /** Holds at these named points (FAULT_POINTS), until released or killed. */
  holdAt?: string[];
  /** Where release files are looked for. */
  releaseDir?: string;
  /** Holds a job at a point when `<releaseDir>/<point>@<job id>.hold` exists (armHold). */
  armedHolds?: boolean;
}

/** The settings in-process tests pass to withWorker (kept under its old name). */
export type ActivityTestHooks = FaultConfig;

export interface FaultPoints {
  /** False for production: every method below is a no-op. */
  readonly enabled: boolean;
  /** The active points and settings, in words (the "fault injection ENABLED" line). */
  readonly active: string[];
  /** A named point: returns at once unless a test holds the process here. */
  at(point: FaultPointName): Promise<void>;
  /** Wraps a step with its `<name>:before` and `<name>:after` points. */
  around<A extends unknown[], R>(name: (typeof ACTIVITY_POINTS)[number], fn: (...args: A) => Promise<R>): (...args: A) => Promise<R>;
  /** The copy's rate cap, if a test sets one. */
  readonly copyBytesPerSecond?: number;
  /** Free bytes every destination reports, if a test sets them. */
  readonly freeBytes?: number;
  /** Called with the copy's progress: throws the injected disk error. */
  onCopyProgress(bytesCopied: number): void;
  /** Called with each chunk of a copy as it arrives: corrupts the first when asked. */
  inTransit?: (chunk: Buffer, position: number) => void;
}

/** Production: no point holds, nothing is slowed, failed or corrupted. */
export const NO_FAULTS: FaultPoints = Object.freeze({
  enabled: false,
  active: [],
  at: async () => {},
  around: <A extends unknown[], R>(_name: string, fn: (...args: A) => Promise<R>) => fn,
  onCopyProgress: () => {},
});

/** Fault points as a test configures them. */
export function testFaults(config: FaultConfig = {}): FaultPoints {
  const holds = new Set<string>([...(config.holdAt ?? []), ...(config.hold ? [`${config.hold.activity}:${config.hold.when}`] : [])]);
  for (const name of holds) {
    if (!isFaultPoint(name)) throw new Error(`unknown fault point ${name}; known: ${knownPoints().join(', ')}`);
  }
  const releaseDir = config.releaseDir ?? path.join(os.tmpdir(), `tasksd-faults-${process.pid}`);
  const active = [
    ...[...holds].map((p) => `hold at ${p} (release: ${releaseFile(releaseDir, p)})`),
    ...(config.armedHolds ? [`hold a job at a point when ${armFile(releaseDir, '<point>', '<job id>')} exists`] : []),
    ...(config.copyBytesPerSecond ? [`copy rate capped at ${config.copyBytesPerSecond} B/s`] : []),
    ...(config.failCopyWith ? [`every copy fails with ${config.failCopyWith}`] : []),
    ...(config.corruptCopy ? ['every copy gets one byte flipped on its way in'] : []),
    ...(config.freeBytes !== undefined ? [`every destination reports ${config.freeBytes} bytes free`] : []),
  ];
  if (active.length === 0) return NO_FAULTS;

  async function at(point: FaultPointName): Promise<void> {
    const ctx = activityContext();
    const job = ctx?.info.workflowExecution?.workflowId;
    const held = holds.has(point)
      ? point
      : config.armedHolds && job && fs.existsSync(armFile(releaseDir, point, job))
        ? `${point}@${job}`
        : undefined;
    if (!held) return;
    const file = releaseFile(releaseDir, held);
    if (fs.existsSync(file)) return;
    if (ctx && ctx.info.attempt > 1) return; // only the first attempt holds, so a retry can finish the job
    console.log(`fault point ${held}: holding (release: ${file})`);
    await waitForRelease(file, ctx);
    console.log(`fault point ${held}: released`);
  }
  const failWrites = config.failCopyWith ? failWritesWith(config.failCopyWith) : undefined;
  return {
    enabled: true,
    active,
    at,
    around: (name, fn) =>
      config.armedHolds || holds.has(`${name}:before`) || holds.has(`${name}:after`)
        ? async (...args) => {
            await at(`${name}:before`);
            const result = await fn(...args);
            await at(`${name}:after`);
            return result;
          }
        : fn,
    copyBytesPerSecond: config.copyBytesPerSecond,
    freeBytes: config.freeBytes,
    onCopyProgress: (bytes) => failWrites?.(bytes),
    inTransit: config.corruptCopy
      ? (chunk, position) => {
          if (position === 0 && chunk.length > 0) chunk[chunk.length - 1] ^= 0x20; // a bit flipped on the wire or in memory
        }
      : undefined,
  };
}

/** The fault variables production processes ignore without the switch. */
export const FAULT_VARIABLES = [
  'TASKSD_TEST_HOLD',
  'TASKSD_TEST_COPY_BYTES_PER_SEC',
  'TASKSD_TEST_FAIL_COPY',
  'TASKSD_TEST_CORRUPT_COPY',
  'TASKSD_TEST_FREE_BYTES',
  'TASKSD_TEST_ARMED_HOLDS',
  'TASKSD_FAULTS_DIR',
] as const;

let warnedIgnored = false;

/**
 * What a production process (worker.ts, `tasksd node serve`) uses: NO_FAULTS unless
 * TASKSD_FAULTS=1. Call it before anything else logs: with the switch on it prints the
 * "fault injection ENABLED" line through `say`; with it off and fault variables set, it
 * warns once through `warn` that they are ignored. Bad settings with the switch on throw.
 */
export function faultsFromEnv(
  env: NodeJS.ProcessEnv,
  say: (line: string) => void,
  warn: (line: string) => void = say,
): FaultPoints {
  const set = FAULT_VARIABLES.filter((v) => env[v] !== undefined && env[v] !== '');
  if (env.TASKSD_FAULTS !== '1') {
    if ((set.length > 0 || (env.TASKSD_FAULTS ?? '') !== '') && !warnedIgnored) {
      warnedIgnored = true;
      const switchNote = (env.TASKSD_FAULTS ?? '') !== '' ? ` (TASKSD_FAULTS=${env.TASKSD_FAULTS} is not 1)` : '';
      warn(
        `ignoring ${set.length ? set.join(', ') : 'fault settings'}: fault injection is off${switchNote}; ` +
          'production moves run without test faults (start with TASKSD_FAULTS=1 to inject them)',
      );
    }
    return NO_FAULTS;
  }
  const number = (name: (typeof FAULT_VARIABLES)[number], min: number): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name}=${raw} is not an integer ≥ ${min}`);
    return n;
  };
  const flag = (name: 'TASKSD_TEST_CORRUPT_COPY' | 'TASKSD_TEST_ARMED_HOLDS') => {
    const raw = env[name];
    if (raw !== undefined && raw !== '' && raw !== '1') throw new Error(`${name}=${raw} is not 1`);
    return raw === '1';
  };
  const faults = testFaults({
    copyBytesPerSecond: number('TASKSD_TEST_COPY_BYTES_PER_SEC', 1),
    freeBytes: number('TASKSD_TEST_FREE_BYTES', 0),
    failCopyWith: env.TASKSD_TEST_FAIL_COPY || undefined,
    corruptCopy: flag('TASKSD_TEST_CORRUPT_COPY'),
    armedHolds: flag('TASKSD_TEST_ARMED_HOLDS'),
    holdAt: (env.TASKSD_TEST_HOLD ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    releaseDir: env.TASKSD_FAULTS_DIR || undefined,
  });
  say(`fault injection ENABLED (TASKSD_FAULTS=1): ${faults.active.length ? faults.active.join('; ') : 'no points active'}`);
  return faults.enabled ? faults : { ...NO_FAULTS, enabled: true };
}

export function releaseFile(dir: string, point: string): string {
  return path.join(dir, `${point}.release`);
}

/** The file that arms a hold of one job at one point (TASKSD_TEST_ARMED_HOLDS). */
export function armFile(dir: string, point: string, jobId: string): string {
  return path.join(dir, `${point}@${jobId}.hold`);
}

export function knownPoints(): string[] {
  return [...ACTIVITY_POINTS.flatMap((a) => [`${a}:before`, `${a}:after`]), ...Object.keys(INSIDE_POINTS)];
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

async function waitForRelease(file: string, ctx: Context | undefined): Promise<void> {
  let ticks = 0;
  let cancelled = false;
  ctx?.cancelled.catch(() => (cancelled = true));
  while (!fs.existsSync(file)) {
    if (cancelled) await ctx!.cancelled; // rethrows the cancellation
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (ctx && ++ticks % 20 === 0) ctx.heartbeat(ctx.info.heartbeatDetails);
  }
}

/** Fails the copy, once it has written something, with this errno code (e.g. ENOSPC). */
export function failWritesWith(code: string) {
  return (bytesCopied: number) => {
    if (bytesCopied > 0) throw Object.assign(new Error(`${code}: injected by fault injection (TASKSD_TEST_FAIL_COPY)`), { code });
  };
}

/**
 * Flips a byte inside a row's title in the copied file, the way a bad disk would,
 * leaving the file structurally valid so only the content gate can tell. Every
 * occurrence is flipped: a stale copy of the row in free space would otherwise take
 * the hit and leave the live row intact.
 */
export function flipOneByte(file: string): void {
  const probe = openShardFile(file, { readonly: true });
  const row = probe.prepare('SELECT title FROM tasks ORDER BY id LIMIT 1').get() as { title: string } | undefined;
  probe.close();
  if (!row) return;
  const bytes = fs.readFileSync(file);
  const needle = Buffer.from(row.title);
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + needle.length)) {
    bytes[at] ^= 0x20; // flips letter case: still valid text
  }
  fs.writeFileSync(file, bytes);
}
