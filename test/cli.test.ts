// The `tasksd` binary as operators and scripts run it: a subprocess over the test's
// data root, talking to the suite's Temporal server and an in-process worker.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { JobSnapshot } from '../client';
import { JOB_STATUSES, type Job } from '../common/job';
import { followJob } from '../cli/progress';
import type { ShardSummary } from '../store/cluster';
import { makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';

const PROJECT = path.resolve(__dirname, '..');
const BIN = path.join(PROJECT, 'bin', 'tasksd.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('tasksd CLI', () => {
  let t: TestCluster;
  beforeEach(async () => (t = await makeCluster()));
  afterEach(() => t.close());

  /** Runs the binary; a hang shows up as code -1 once the timeout kills it. */
  function tasksd(args: string[], taskQueue = 'cli-test-no-worker', command = [process.execPath, BIN]): Promise<Run> {
    const env = { ...process.env, ...t.env, TEMPORAL_ADDRESS: suite().server.address, TASKSD_TASK_QUEUE: taskQueue };
    return new Promise((resolve) => {
      execFile(command[0], [...command.slice(1), ...args], { env, cwd: PROJECT, timeout: 30_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function json<T = unknown>(args: string[], taskQueue?: string): Promise<T> {
    const run = await tasksd([...args, '--json'], taskQueue);
    assert.equal(run.code, 0, `tasksd ${args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stderr, '');
    return JSON.parse(run.stdout) as T;
  }

  function assertFails(run: Run, code: number, pattern: RegExp): void {
    assert.equal(run.code, code, `exit status (stderr: ${run.stderr})`);
    assert.match(run.stderr, /^tasksd: [^\n]+\n$/, 'exactly one line on stderr');
    assert.match(run.stderr, pattern);
  }

  it('adds nodes, creates shards, puts, gets and loads tasks (JSON)', async () => {
    // Data commands reach the nodes through their agents: the cluster is served meanwhile.
    await withWorker(t, async () => {
      const added = await json<{ id: string; dir: string }>(['node', 'add', 'node-c']);
      assert.equal(added.id, 'node-c');
      assert.equal(added.dir, (await t.cluster.catalog.node('node-c')).dir);
      const listed = await json<Array<{ id: string; dir: string }>>(['nodes']);
      assert.deepEqual(listed.map((n) => [n.id, n.dir]), (await t.cluster.catalog.listNodes()).map((n) => [n.id, n.dir]));

      const created = await json<ShardSummary>(['shard', 'create', '--org', 'acme', '--namespace', 'default', '--node', 'node-a']);
      assert.deepEqual(created, (await t.cluster.listShards())[0]);
      assert.deepEqual([created.org, created.ns, created.owner, created.lockedBy, created.seq, created.rows], ['acme', 'default', 'node-a', null, 0, 0]);

      assert.deepEqual(await json(['put', '--org', 'acme', '--ns', 'default', '--id', 'first', '--title', 'hello world']), {
        id: 'first',
        title: 'hello world',
        seq: 1,
      });
      const [got, loaded] = await Promise.all([
        json(['get', '--org', 'acme', '--namespace', 'default', '--id', 'first']),
        json(['load', '--org', 'acme', '--ns', 'default', '--rows', '2500', '--row-bytes', '32']),
      ]);
      assert.deepEqual(got, { id: 'first', title: 'hello world', seq: 1 });
      assert.deepEqual(loaded, { org: 'acme', ns: 'default', rows: 2500, seq: 2501 });
      // A second load numbers its rows after the existing ones instead of overwriting them.
      assert.deepEqual(await json(['load', '--org', 'acme', '--ns', 'default', '--rows', '10']), { org: 'acme', ns: 'default', rows: 10, seq: 2511 });
      assert.equal((await t.cluster.getTask('acme', 'default', 'row-2510'))?.title, 'row 2510');
      assert.equal((await t.cluster.getTask('acme', 'default', 'row-1'))?.body?.length, 32);
      assert.equal((await t.cluster.getTask('acme', 'default', 'row-2501'))?.body, null);

      const [shards, table, missing] = await Promise.all([
        json<ShardSummary[]>(['shards']),
        tasksd(['shards']),
        tasksd(['get', '--org', 'acme', '--ns', 'default', '--id', 'nope']),
      ]);
      assert.deepEqual(shards, (await t.cluster.listShards()));
      assert.deepEqual([shards[0].rows, shards[0].seq, shards[0].owner], [2511, 2511, 'node-a']);
      assert.equal(table.code, 0);
      assert.match(table.stdout, /acme\/default.*node-a.*2511/);
      assertFails(missing, 1, /task nope not found in shard acme\/default/);
    });
  });

  it('refuses a put on a locked shard with exit 75 (retry), applying nothing', async () => {
    // Data commands reach the nodes through their agents: the cluster is served meanwhile.
    await withWorker(t, async () => {
      await seedShard(t, 'acme', 'default', 'node-a', 3);
      await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-x' });
      const run = await tasksd(['put', '--org', 'acme', '--ns', 'default', '--id', 'late', '--title', 'refused']);
      assertFails(run, 75, /locked by migration job-x/);
      assert.equal(run.stdout, '');
      assert.equal((await t.cluster.getTask('acme', 'default', 'late')), undefined);
    });
  });

  it('rejects bad ids and bad usage with exit 2 and one line, creating nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['node', 'add', '../escape'], /node "\.\.\/escape" is not valid/],
      [['shard', 'create', '--org', 'Acme!', '--ns', 'default', '--node', 'node-a'], /org "Acme!" is not valid/],
      [['shard', 'create', '--org', 'acme', '--ns', 'a/b', '--node', 'node-a'], /namespace "a\/b" is not valid/],
      [['migrate', '--org', 'acme', '--ns', 'default', '--to', 'NODE B'], /node "NODE B" is not valid/],
      [['put', '--org', 'acme', '--ns', 'default', '--id', 'x'], /required option '--title <title>'/],
      [['load', '--org', 'acme', '--ns', 'default', '--rows', 'many'], /--rows must be a whole number/],
      [['migrate', '--org', 'acme', '--ns', 'default', '--to', 'node-b', '--mode', 'fast'], /Allowed choices are offline, online/],
      [['shrads'], /unknown command 'shrads'/],
      [[], /missing command; see "tasksd --help"/],
    ];
    const runs = await Promise.all(cases.map(([args]) => tasksd(args)));
    runs.forEach((run, i) => assertFails(run, 2, cases[i][1]));
    assert.deepEqual((await t.cluster.catalog.listNodes()).map((n) => n.id), ['node-a', 'node-b']);
    assert.deepEqual((await t.cluster.listShards()), []);
  });

  it('prints help for every command, and runs as `npx tasksd`', async () => {
    const [npx, ...runs] = await Promise.all([
      tasksd(['--help'], undefined, ['npx', 'tasksd']),
      ...[['--help'], ['migrate', '--help'], ['node', 'add', '--help'], ['shards', '--help']].map((args) => tasksd(args)),
    ]);
    for (const run of [npx, ...runs]) {
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Usage: tasksd/);
    }
    assert.match(runs[3].stdout, /--json/);
  });

  describe('migrations (through Temporal)', () => {
    // A unique org keeps `jobs --org` to this test's jobs on the shared server.
    let org: string;
    beforeEach(() => (org = `cli-${randomUUID().slice(0, 8)}`));

    it('migrate --wait --json ends released with the owner changed', async () => {
      await seedShard(t, org, 'default', 'node-a', 1000, 64);
      const run = await withWorker(t, (_m, queue) => tasksd(['migrate', '--org', org, '--ns', 'default', '--to', 'node-b', '--wait', '--json'], queue));
      assert.equal(run.code, 0, run.stderr);
      const job = JSON.parse(run.stdout) as Job;
      assert.deepEqual([job.status, job.org, job.ns, job.from, job.to, job.mode], ['released', org, 'default', 'node-a', 'node-b', 'offline']);
      assert.ok(job.bytes > 1000 * 64);
      const [shard] = (await t.cluster.listShards());
      assert.deepEqual([shard.owner, shard.lockedBy, shard.rows], ['node-b', null, 1000]);
    });

    it('migrate returns the started job; job, watch (plain lines) and jobs follow it', async () => {
      await seedShard(t, org, 'default', 'node-a', 2000, 1024);
      await withWorker(
        t,
        async (m, queue) => {
          const started = await json<Job>(['migrate', '--org', org, '--ns', 'default', '--to', 'node-b', '--mode', 'online'], queue);
          assert.deepEqual([started.org, started.ns, started.from, started.to, started.mode], [org, 'default', 'node-a', 'node-b', 'online']);
          assert.ok(JOB_STATUSES.includes(started.status));

          const shown = await json<Job>(['job', started.id], queue);
          assert.equal(shown.id, started.id);

          const watched = await tasksd(['watch', started.id], queue);
          assert.equal(watched.code, 0, watched.stderr);
          const lines = watched.stdout.trimEnd().split('\n');
          assert.match(lines.at(-1) ?? '', new RegExp(`^released ${org}/default node-a -> node-b, [\\d.]+ MiB, paused \\d+ ms$`));
          for (const line of lines) assert.match(line, /^(pending|locking|copying( [\d.]+ [KM]i?B \/ [\d.]+ MiB)?|replaying|released .*)$/);
          assert.equal(new Set(lines).size, lines.length, 'one line per change');

          const [final, back] = await Promise.all([
            json<Job>(['job', started.id], queue),
            json<Job>(['migrate', '--org', org, '--namespace', 'default', '--to', 'node-a', '--wait'], queue),
          ]);
          assert.deepEqual(final, await m.get(started.id));
          assert.equal(final.status, 'released');
          assert.equal(back.status, 'released');

          const [jobs, table] = await Promise.all([json<Job[]>(['jobs', '--org', org], queue), tasksd(['jobs', '--org', org, '--node', 'node-b'], queue)]);
          assert.deepEqual(jobs.map((j) => j.id), [back.id, started.id], 'newest first');
          assert.match(table.stdout, new RegExp(started.id));
        },
        { copyBytesPerSecond: 2 * 1024 * 1024 },
      );
      assert.equal((await t.cluster.listShards())[0].owner, 'node-a');
    });

    it('cancel rolls a running job back; watch then exits 1; unknown ids exit 1 with one line', async () => {
      await seedShard(t, org, 'default', 'node-a', 4000, 1024);
      await withWorker(
        t,
        async (_m, queue) => {
          const started = await json<Job>(['migrate', '--org', org, '--ns', 'default', '--to', 'node-b'], queue);
          assert.deepEqual(await json(['cancel', started.id], queue), { id: started.id, cancelRequested: true });
          const watched = await tasksd(['watch', started.id], queue);
          assertFails(watched, 1, new RegExp(`job ${started.id} failed: cancelled by operator`));
          assert.match(watched.stdout, /^failed: cancelled by operator/m);

          const unknown = await Promise.all([['cancel', 'migrate-nope'], ['job', 'migrate-nope'], ['watch', 'migrate-nope', '--json']].map((args) => tasksd(args, queue)));
          for (const run of unknown) assertFails(run, 1, /^tasksd: unknown job migrate-nope/);
        },
        // A copy of about 16 s: the cancel lands well inside it, and cuts the test short.
        { copyBytesPerSecond: 256 * 1024 },
      );
      const [shard] = (await t.cluster.listShards());
      assert.deepEqual([shard.owner, shard.lockedBy, shard.rows], ['node-a', null, 4000]);
    });
  });

  describe('progress rendering', () => {
    const job: Job = { id: 'j1', org: 'acme', ns: 'default', from: 'node-a', to: 'node-b', status: 'pending', bytes: 0, startedAt: '2025-01-01T00:00:00.000Z', mode: 'offline' };
    const MiB = 1024 * 1024;
    const snapshots: JobSnapshot[] = [
      job,
      { ...job, status: 'locking' },
      { ...job, status: 'copying', progress: { bytesCopied: 12 * MiB, totalBytes: 40 * MiB } },
      { ...job, status: 'copying', progress: { bytesCopied: 30 * MiB, totalBytes: 40 * MiB } },
      { ...job, status: 'released', bytes: 40 * MiB, pauseMs: 7, finishedAt: '2025-01-01T00:00:03.000Z' },
    ];
    const source = { async *watch() { yield* snapshots; } };

    function sink(isTTY: boolean) {
      const chunks: string[] = [];
      return { isTTY, columns: 120, chunks, write: (text: string) => chunks.push(text) };
    }

    it('prints one plain line per change when not on a terminal', async () => {
      const out = sink(false);
      const final = await followJob(source, 'j1', out);
      assert.deepEqual(out.chunks.join('').split('\n'), [
        'pending',
        'locking',
        'copying 12.0 MiB / 40.0 MiB',
        'copying 30.0 MiB / 40.0 MiB',
        'released acme/default node-a -> node-b, 40.0 MiB, paused 7 ms',
        '',
      ]);
      assert.deepEqual(final, snapshots[4]);
    });

    it('draws a progress bar with phase, bytes and percentage on a terminal', async () => {
      const out = sink(true);
      const final = await followJob(source, 'j1', out);
      const text = out.chunks.join('');
      assert.match(text, /pending\s+\[/);
      assert.match(text, /released\s+\[█+\] 100% \| 40\.0 MiB \/ 40\.0 MiB/);
      assert.match(text, /released acme\/default node-a -> node-b, 40\.0 MiB, paused 7 ms\n$/);
      assert.equal(final.status, 'released');
    });

    it('prints nothing but returns the final job when quiet (--json)', async () => {
      const out = sink(true);
      assert.deepEqual(await followJob(source, 'j1', out, true), snapshots[4]);
      assert.deepEqual(out.chunks, []);
    });
  });
});
