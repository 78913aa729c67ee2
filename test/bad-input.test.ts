// Bad input and refused migrations, through every way in: the client
// (MigrationClient.startJob), the `tasksd` CLI, and a raw `temporal workflow start`
// that bypasses both. Each refusal is one typed error that names the thing and says
// what to do, and the data root is exactly as it was (test/support/snapshot.ts says
// what "exactly" means for SQLite files).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ActivityTestHooks } from '../faults';
import type { Job, MigrationClient, MigrationRequest } from '../client';
import { ErrorType, TasksdError, type ErrorTypeName } from '../common/errors';
import { defaultNodeDir } from '../store/layout';
import { structuralProblems } from '../store/sqlite-thread';
import { damageMiddlePage } from './support/damage';
import { makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';
import { tasksd, temporal, type Run } from './support/run';
import { snapshotTree } from './support/snapshot';
import { startWorkerProcess } from './support/worker-process';

const ROWS = 2000;

interface Refusal {
  title: string;
  request: Record<string, unknown>;
  type: ErrorTypeName;
  message: RegExp;
  /** tasksd's exit status: 2 for bad input, 1 for a refused migration. */
  exit: number;
  /** Where the CLI's own parser words it differently (commander's choices). */
  cliMessage?: RegExp;
  /** Sets the scene; returns its undo, run after the checks. */
  arrange?: (t: TestCluster) => (() => unknown) | void | Promise<(() => unknown) | void>;
  hooks?: ActivityTestHooks;
}

const move = { org: 'acme', ns: 'default', to: 'node-b' };

/** Test nodes use their default directories. */
function nodeDir(t: TestCluster, node: string): string {
  return defaultNodeDir(t.root, node);
}

/**
 * Root ignores permission bits; an immutable directory refuses even root (ext4, xfs,
 * btrfs). Where `chattr +i` fails (tmpfs, overlayfs, no CAP_LINUX_IMMUTABLE) the case
 * cannot run its fault: it fails with the reason, never skips.
 */
function makeImmutable(dir: string): () => void {
  const run = spawnSync('chattr', ['+i', dir], { encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    const fsType = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout?.trim() || 'unknown';
    throw new Error(
      `cannot make ${dir} immutable for this test: chattr +i ${run.error ? `did not run (${run.error.message})` : `exited ${run.status}: ${run.stderr.trim()}`}; ` +
        `its filesystem is ${fsType}. Run the suite with TMPDIR on a filesystem with the immutable attribute (ext4, xfs, btrfs) as root.`,
    );
  }
  return () => void spawnSync('chattr', ['-i', dir]);
}

const refusals: Refusal[] = [
  {
    title: 'an org id that could leave the data root',
    request: { ...move, org: '../etc' },
    type: ErrorType.InvalidInput,
    message: /^org "\.\.\/etc" is not valid: use lowercase letters, digits, "-" and "_"/,
    exit: 2,
  },
  {
    title: 'an unknown mode',
    request: { ...move, mode: 'fast' },
    type: ErrorType.InvalidInput,
    message: /^mode "fast" is not valid: use offline or online$/,
    cliMessage: /argument 'fast' is invalid\. Allowed choices are offline, online/,
    exit: 2,
  },
  {
    title: 'an unknown shard',
    request: { ...move, org: 'ghost' },
    type: ErrorType.UnknownShard,
    message: /^unknown shard ghost\/default: create it with "tasksd shard create --org ghost --namespace default --node <node>"$/,
    exit: 1,
  },
  {
    title: 'an unknown node',
    request: { ...move, to: 'node-z' },
    type: ErrorType.UnknownNode,
    message: /^unknown node node-z: add it with "tasksd node add node-z"$/,
    exit: 1,
  },
  {
    title: 'the current owner as destination',
    request: { ...move, to: 'node-a' },
    type: ErrorType.SameNode,
    message: /^shard acme\/default is already on node node-a; pick another destination$/,
    exit: 1,
  },
  {
    title: 'a shard claimed by another job',
    request: move,
    type: ErrorType.ShardBusy,
    message: /^shard acme\/default is already being migrated by job job-elsewhere; wait for it or cancel it with "tasksd cancel job-elsewhere"$/,
    exit: 1,
    arrange: async (t) => {
      await t.cluster.catalog.claim('acme', 'default', 'job-elsewhere');
      return () => t.cluster.catalog.release('acme', 'default', 'job-elsewhere');
    },
  },
  {
    title: 'a shard whose file is locked by another job',
    request: move,
    type: ErrorType.ShardBusy,
    message: /^shard acme\/default is locked by migration job-x; wait for it or cancel it with "tasksd cancel job-x"$/,
    exit: 1,
    arrange: async (t) => void (await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-x' })),
  },
  {
    title: 'a destination that already holds a file for the shard',
    request: move,
    type: ErrorType.DestinationOccupied,
    message: /^node node-b already has a file for shard acme\/default \(.*acme\.default\.db\); remove it or pick another node$/,
    exit: 1,
    arrange: async (t) => fs.writeFileSync(await t.cluster.fileOn('node-b', 'acme', 'default'), 'not yours'),
  },
  {
    title: 'a destination directory that is missing',
    request: move,
    type: ErrorType.DestinationUnwritable,
    message: /^node node-b's directory .*node-b is missing or not writable \(ENOENT.*\); fix it or pick another node$/,
    exit: 1,
    arrange: (t) => fs.rmSync(nodeDir(t, 'node-b'), { recursive: true }),
  },
  {
    title: 'a destination directory replaced by a file',
    request: move,
    type: ErrorType.DestinationUnwritable,
    message: /^node node-b's directory .*node-b is missing or not writable \(not a directory\); fix it or pick another node$/,
    exit: 1,
    arrange: (t) => {
      fs.rmSync(nodeDir(t, 'node-b'), { recursive: true });
      fs.writeFileSync(nodeDir(t, 'node-b'), 'a file where a directory should be');
    },
  },
  {
    title: 'a destination directory that refuses new files (immutable)',
    request: move,
    type: ErrorType.DestinationUnwritable,
    message: /^node node-b's directory .*node-b is missing or not writable \(EPERM.*\); fix it or pick another node$/,
    exit: 1,
    arrange: (t) => makeImmutable(nodeDir(t, 'node-b')),
  },
  {
    title: 'a destination without enough free space',
    request: move,
    type: ErrorType.InsufficientSpace,
    message: /^node node-b has 1000 bytes free in .*node-b but shard acme\/default needs \d+; free space or pick another node$/,
    exit: 1,
    hooks: { freeBytes: 1000 },
  },
];

function cliArgs(request: Record<string, unknown>): string[] {
  const args = ['migrate', '--org', String(request.org), '--ns', String(request.ns), '--to', String(request.to)];
  return request.mode === undefined ? args : [...args, '--mode', String(request.mode)];
}

function assertOneLine(run: Run, exit: number, message: RegExp): void {
  assert.equal(run.code, exit, `exit status (stderr: ${run.stderr})`);
  assert.match(run.stderr, /^tasksd: [^\n]+\n$/, `exactly one line on stderr: ${run.stderr}`);
  assert.match(run.stderr.slice('tasksd: '.length, -1), message);
  assert.equal(run.stdout, '');
}

function assertRefused(type: ErrorTypeName, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof TasksdError, `expected a TasksdError, got ${err}`);
    assert.equal(err.type, type);
    assert.match(err.message, message);
    return true;
  };
}

/** `temporal workflow start` (no client in between), then `temporal workflow result`. */
async function startWithTemporalCli(inputs: string[], taskQueue: string): Promise<{ id: string; start: Run; job?: Job }> {
  const address = suite().server.address;
  const id = `raw-${randomUUID()}`;
  const start = await temporal([
    'workflow', 'start', '--type', 'migrateShard', '--task-queue', taskQueue, '--workflow-id', id, '--address', address,
    ...inputs.flatMap((input) => ['--input', input]),
  ]);
  if (start.code !== 0) return { id, start };
  const result = await temporal(['workflow', 'result', '--workflow-id', id, '--address', address, '--output', 'json']);
  assert.equal(result.code, 0, result.stderr);
  return { id, start, job: (JSON.parse(result.stdout) as { result: Job }).result };
}

function assertFailedJob(job: Job | undefined, type: string, message: RegExp): void {
  assert.ok(job, 'the workflow ran');
  assert.equal(job.status, 'failed');
  assert.equal(job.errorType, type);
  assert.match(job.error ?? '', message);
  assert.ok(job.finishedAt);
}

describe('bad input: one clear error, nothing changed', () => {
  let t: TestCluster;
  beforeEach(async () => {
    t = await makeCluster();
    await seedShard(t, 'acme', 'default', 'node-a', ROWS, 64);
  });
  afterEach(() => t.close());

  it('compares fairly: reading changes nothing, any write (even one undone) shows', async () => {
    const before = snapshotTree(t.root);
    (await t.cluster.listShards()); // opens, reads and closes the shard and the catalog
    assert.deepEqual(snapshotTree(t.root), before, 'a read leaves the snapshot as it was');
    await t.cluster.catalog.claim('acme', 'default', 'job-1');
    await t.cluster.catalog.release('acme', 'default', 'job-1');
    assert.notDeepEqual(snapshotTree(t.root), before, 'a claim and its release are two writes');
    const afterClaim = snapshotTree(t.root);
    await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-1' });
    await t.replicator.propose({ op: 'unlock', org: 'acme', ns: 'default', jobId: 'job-1' });
    assert.notDeepEqual(snapshotTree(t.root), afterClaim, 'a lock and unlock change the shard file');
  });

  const surfaces: Array<[string, (r: Refusal, taskQueue: string, m: MigrationClient) => Promise<void>]> = [
    ['the client', async (r, _q, m) => {
      await assert.rejects(m.startJob(r.request as unknown as MigrationRequest), assertRefused(r.type, r.message));
    }],
    ['tasksd migrate', async (r, taskQueue) => {
      const env = { ...t.env, TEMPORAL_ADDRESS: suite().server.address, TASKSD_TASK_QUEUE: taskQueue };
      assertOneLine(await tasksd(cliArgs(r.request), env), r.exit, r.cliMessage ?? r.message);
    }],
    ['temporal workflow start', async (r, taskQueue) => {
      const { job } = await startWithTemporalCli([JSON.stringify(r.request)], taskQueue);
      assertFailedJob(job, r.type, r.message);
    }],
  ];

  for (const refusal of refusals) {
    describe(`refuses ${refusal.title} (${refusal.type})`, () => {
      for (const [surface, attempt] of surfaces) {
        it(`through ${surface}`, async function () {
          const undo = await refusal.arrange?.(t);
          try {
            const claim = (await t.cluster.catalog.shard('acme', 'default')).jobId;
            // Taken once the cluster is served: starting its agents records their URLs.
            await withWorker(
              t,
              async (m, taskQueue) => {
                const before = snapshotTree(t.root);
                await attempt(refusal, taskQueue, m);
                assert.deepEqual(snapshotTree(t.root), before, 'the data root is byte-for-byte unchanged');
              },
              refusal.hooks,
            );
            const shard = (await t.cluster.catalog.shard('acme', 'default'));
            assert.deepEqual([shard.owner, shard.jobId], ['node-a', claim], 'owner and claim unchanged');
          } finally {
            await undo?.();
          }
        });
      }
    });
  }

  // Not a refusal before the claim any more: the source proves its snapshot while it
  // streams, so the move claims, locks and copies, then fails and rolls back.
  describe('a source that fails quick_check (SourceCorrupt), found while it streams', () => {
    const message =
      /^source shard acme\/default at .*acme\.default\.db on node node-a fails PRAGMA quick_check \(.+\); refusing to copy a damaged shard, restore it from a backup first \(the move was rolled back: nothing was changed\)$/;
    beforeEach(async () => {
      const file = await t.cluster.fileOn('node-a', 'acme', 'default');
      const db = await t.cluster.openOwner('acme', 'default');
      db.pragma('wal_checkpoint(TRUNCATE)'); // the rows live in the main file, where the damage goes
      db.close();
      damageMiddlePage(file);
    });
    const rolledBack = async () => {
      const [shard] = await t.cluster.listShards();
      assert.deepEqual([shard.owner, shard.lockedBy, shard.claimedBy], ['node-a', null, null], 'owner unchanged, unlocked, unclaimed');
      assert.deepEqual(fs.readdirSync(defaultNodeDir(t.root, 'node-b')), [], 'nothing left on the destination');
    };

    it('through the client: the job ends failed, rolled back', async () => {
      const job = await withWorker(t, (m) => m.migrate(move as unknown as MigrationRequest));
      assertFailedJob(job, ErrorType.SourceCorrupt, message);
      await rolledBack();
    });
  });

  it('reads the free space for prepare from TASKSD_TEST_FREE_BYTES in a real worker process started with TASKSD_FAULTS=1', async () => {
    const taskQueue = `free-${randomUUID()}`;
    const worker = await startWorkerProcess({
      address: suite().server.address,
      dataRoot: t.root, catalog: t.env.TASKSD_CATALOG,
      taskQueue,
      extra: { TASKSD_FAULTS: '1', TASKSD_TEST_FREE_BYTES: '4096' },
    });
    try {
      const before = snapshotTree(t.root);
      const env = { ...t.env, TEMPORAL_ADDRESS: suite().server.address, TASKSD_TASK_QUEUE: taskQueue };
      assertOneLine(await tasksd(cliArgs(move), env), 1, /^node node-b has 4096 bytes free in .* but shard acme\/default needs \d+/);
      assert.deepEqual(snapshotTree(t.root), before);
    } finally {
      await worker.stop();
    }
  });

  describe('malformed migration input', () => {
    const malformed: Array<[string, unknown, RegExp]> = [
      ['a wrong type', { ...move, org: 42 }, /^org must be a string, not a number$/],
      ['a missing field', { org: 'acme', ns: 'default' }, /^node is required$/],
      ['an extra field', { ...move, force: true }, /^unknown field\(s\) "force": the fields are org, ns, to, from, mode, maxPauseMs, maxBytesPerSecond, cluster$/],
      ['a fractional pause budget', { ...move, maxPauseMs: 2.5 }, /^maxPauseMs must be a whole number of milliseconds$/],
      ['an array', [move], /^migration input must be a JSON object like .*, not an array$/],
      ['null', null, /^migration input must be a JSON object like .*, not null$/],
      ['a string', 'acme/default', /^migration input must be a JSON object like .*, not a string$/],
      ['several problems at once', { org: 'Acme', ns: '', extra: 1 }, /org "Acme" is not valid.*; namespace "" is not valid.*; node is required; unknown field\(s\) "extra"/],
    ];

    it('is refused by the client before anything reaches Temporal', async () => {
      await withWorker(t, async (m, taskQueue) => {
        const before = snapshotTree(t.root); // once served: starting the agents records their URLs
        for (const [what, input, message] of malformed) {
          await assert.rejects(m.startJob(input as MigrationRequest), assertRefused(ErrorType.InvalidInput, message), what);
        }
        const { count } = await suite().client.workflow.count(`TaskQueue = "${taskQueue}"`);
        assert.equal(count, 0, 'no workflow was started');
        assert.deepEqual(snapshotTree(t.root), before);
      });
    });

    it('reaching the workflow from the Temporal CLI, ends the job failed with InvalidInput', async () => {
      await withWorker(t, async (_m, taskQueue) => {
        const before = snapshotTree(t.root); // once served: starting the agents records their URLs
        const cases: Array<[string, string[], RegExp]> = [
          ...malformed.map(([what, input, message]): [string, string[], RegExp] => [what, [JSON.stringify(input)], message]),
          ['no input at all', [], /^migration input is missing: pass a JSON object like/],
        ];
        const runs = await Promise.all(cases.map(([, inputs]) => startWithTemporalCli(inputs, taskQueue)));
        runs.forEach(({ job }, i) => {
          assertFailedJob(job, ErrorType.InvalidInput, cases[i][2]);
          // Until validated, nothing of the input is echoed into the Job but well-formed ids.
          for (const field of [job!.org, job!.ns, job!.to]) assert.match(field, /^$|^[a-z0-9][a-z0-9_-]*$/);
        });
        // A second argument is ignored: the first one decides.
        const { job } = await startWithTemporalCli([JSON.stringify({ ...move, to: 'node-z' }), '"extra"'], taskQueue);
        assertFailedJob(job, ErrorType.UnknownNode, /^unknown node node-z/);
        assert.deepEqual(snapshotTree(t.root), before);
      });
    });

    it('that is not JSON is stopped by the Temporal CLI itself: no workflow starts', async () => {
      await withWorker(t, async (m, taskQueue) => {
        const { id, start } = await startWithTemporalCli(['{"org": "acme",'], taskQueue);
        assert.notEqual(start.code, 0);
        assert.match(start.stderr, /input #1 is not valid JSON/);
        assert.equal(await m.get(id), null);
      });
    });

    it('is refused by tasksd with exit 2 and one line', async () => {
      const env = { ...t.env, TEMPORAL_ADDRESS: suite().server.address, TASKSD_TASK_QUEUE: 'bad-input-no-worker' };
      const before = snapshotTree(t.root);
      const cases: Array<[string[], RegExp]> = [
        [['migrate', '--org', 'acme', '--ns', 'default'], /required option '--to <node>' not specified/],
        [['migrate', '--org', 'acme', '--ns', 'default', '--to', 'node-b', '--max-pause', '1.5'], /--max-pause must be a whole number >= 1/],
        [['migrate', '--org', 'acme', '--ns', 'default', '--to', 'node-b', '--max-pause', '999999999'], /^maxPauseMs must be between 1 and 600000$/],
        [['migrate', '--org', 'acme', '--ns', 'default\u001b[2J', '--to', 'node-b'], /^namespace "default\\u001b\[2J" is not valid/],
        [['migrate', '--org', 'a'.repeat(5000), '--ns', 'default', '--to', 'node-b'], /^org "a{100}"\.\.\. \(5000 characters\) is not valid/],
      ];
      const runs = await Promise.all(cases.map(([args]) => tasksd(args, env)));
      runs.forEach((r, i) => assertOneLine(r, 2, cases[i][1]));
      assert.deepEqual(snapshotTree(t.root), before);
    });
  });

  describe('unknown or malformed job ids', () => {
    it('are refused by the client: UnknownJob or InvalidInput', async () => {
      await withWorker(t, async (m) => {
        assert.equal(await m.get('migrate-nope'), null);
        await assert.rejects(m.snapshot('migrate-nope'), assertRefused(ErrorType.UnknownJob, /^unknown job migrate-nope: list jobs with "tasksd jobs"$/));
        await assert.rejects(m.cancel('migrate-nope'), assertRefused(ErrorType.UnknownJob, /^unknown job migrate-nope/));
        await assert.rejects(m.get(''), assertRefused(ErrorType.InvalidInput, /^job id "" is not valid: job ids are 1 to 255 printable characters$/));
        await assert.rejects(m.get('a\nb'), assertRefused(ErrorType.InvalidInput, /^job id "a\\nb" is not valid/));
        await assert.rejects(m.result('x'.repeat(300)), assertRefused(ErrorType.InvalidInput, /^job id "x{100}"\.\.\. \(300 characters\) is not valid/));
      });
    });

    it('are refused by tasksd job, watch and cancel with one line', async () => {
      const env = { ...t.env, TEMPORAL_ADDRESS: suite().server.address, TASKSD_TASK_QUEUE: 'bad-input-no-worker' };
      const before = snapshotTree(t.root);
      const cases: Array<[string[], number, RegExp]> = [
        [['job', 'migrate-nope'], 1, /^unknown job migrate-nope: list jobs with "tasksd jobs"$/],
        [['watch', 'migrate-nope'], 1, /^unknown job migrate-nope: list jobs with "tasksd jobs"$/],
        [['cancel', 'migrate-nope'], 1, /^unknown job migrate-nope: list jobs with "tasksd jobs"$/],
        [['job', ''], 2, /^job id "" is not valid/],
        [['cancel', 'bad\u001bid'], 2, /^job id "bad\\u001bid" is not valid/],
      ];
      const runs = await Promise.all(cases.map(([args]) => tasksd(args, env)));
      runs.forEach((r, i) => assertOneLine(r, cases[i][1], cases[i][2]));
      assert.deepEqual(snapshotTree(t.root), before);
    });
  });

  describe('node add --dir', () => {
    let outside: string;
    beforeEach(async () => {
      outside = fs.mkdtempSync(path.join(suite().scratch, 'outside-'));
      fs.writeFileSync(path.join(outside, 'a-file'), 'not a directory');
      fs.symlinkSync(nodeDir(t, 'node-a'), path.join(outside, 'link-to-node-a'));
      await t.cluster.addNode('node-c', path.join(outside, 'custom', 'c'));
    });

    it('refuses a directory that overlaps the data root or another node, creating nothing', async () => {
      const env = { ...t.env };
      const cases: Array<[string, number, RegExp]> = [
        [t.root, 2, /is not allowed: it is the data root or contains it; pick a separate directory/],
        [path.dirname(t.root), 2, /is not allowed: it is the data root or contains it/],
        [path.join(t.root, 'nodes'), 2, /is not allowed: it is the folder of the default node directories/],
        [nodeDir(t, 'node-a'), 1, /^directory ".*node-a" already belongs to node node-a$/],
        [path.join(outside, 'link-to-node-a'), 1, /already belongs to node node-a$/],
        [path.join(nodeDir(t, 'node-a'), 'inner'), 2, /is not allowed: it is inside node node-a's directory/],
        [path.join(outside, 'link-to-node-a', 'inner'), 2, /is not allowed: it is inside node node-a's directory/],
        [path.join(outside, 'custom'), 2, /is not allowed: it contains node node-c's directory/],
        [path.join(outside, 'a-file'), 2, /is not allowed: it exists and is not a directory/],
        [path.join(outside, 'tab\there'), 2, /^--dir ".*tab\\there" is not valid: a directory path is 1 to 1024 printable characters$/],
        [path.join(outside, 'x'.repeat(1100)), 2, /^--dir ".{100}"\.\.\. \(\d+ characters\) is not valid/],
        ['', 2, /^--dir "" is not valid/],
      ];
      const before = [snapshotTree(t.root), snapshotTree(outside)];
      const runs = await Promise.all(cases.map(([dir]) => tasksd(['node', 'add', 'node-d', '--dir', dir], env)));
      runs.forEach((r, i) => assertOneLine(r, cases[i][1], cases[i][2]));
      assert.deepEqual([snapshotTree(t.root), snapshotTree(outside)], before);
      assert.deepEqual((await t.cluster.catalog.listNodes()).map((n) => n.id), ['node-a', 'node-b', 'node-c']);
    });

    it('refuses an existing node id before creating its directory', async () => {
      const fresh = path.join(outside, 'fresh');
      const run = await tasksd(['node', 'add', 'node-a', '--dir', fresh], { ...t.env });
      assertOneLine(run, 1, /^node node-a already exists$/);
      assert.equal(fs.existsSync(fresh), false);
    });

    it('takes a path relative to the current directory', async () => {
      const run = await tasksd(['node', 'add', 'node-d', '--dir', 'rel/d', '--json'], { ...t.env }, outside);
      assert.equal(run.code, 0, run.stderr);
      assert.equal((JSON.parse(run.stdout) as { dir: string }).dir, path.join(outside, 'rel', 'd'));
      assert.ok(fs.statSync(path.join(outside, 'rel', 'd')).isDirectory());
    });
  });
});
