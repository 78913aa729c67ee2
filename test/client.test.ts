// The programmatic client (client.ts) call by call, against the real test server:
// start, startJob, migrate, result, get, snapshot, list with filters, cancel, watch,
// and the example script run as a plain Node process.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ErrorType, MigrationClient, type Job, type JobStatus } from '../client';
import { PROJECT_ROOT } from '../temporal/cli-binary';
import { eventually, uniqueId } from './support/eventually';
import { filesOn, makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';

// A ~3.5 MiB shard copied at 256 KiB/s stays in `copying` for over ten seconds.
const BIG = { rows: 1500, rowBytes: 2048 };
const SLOW_COPY = { copyBytesPerSecond: 256 * 1024 };

describe('MigrationClient', () => {
  let t: TestCluster;
  let org: string;
  beforeEach(async () => {
    t = await makeCluster();
    org = uniqueId('client'); // visibility is shared by every test on the server
  });
  afterEach(() => t?.close());

  async function untilStatus(migrations: MigrationClient, id: string, status: JobStatus): Promise<void> {
    for await (const snap of migrations.watch(id, 50)) if (snap.status === status) return;
    throw new Error(`job ${id} ended without passing through ${status}`);
  }

  it('migrate waits for the final Job; start and startJob return once the shard is claimed', async () => {
    await seedShard(t, org, 'default', 'node-a', 100);
    await seedShard(t, org, 'other', 'node-a', 100);
    await withWorker(t, async (migrations) => {
      const moved = await migrations.migrate({ org, ns: 'default', to: 'node-b' });
      assert.equal(moved.status, 'released', moved.error);
      assert.deepEqual([moved.org, moved.ns, moved.from, moved.to, moved.mode], [org, 'default', 'node-a', 'node-b', 'offline']);
      assert.ok(moved.finishedAt && moved.bytes > 0);

      const started = await migrations.startJob({ org, ns: 'other', to: 'node-b', mode: 'online' }, { jobId: uniqueId('job') });
      assert.equal(started.from, 'node-a', 'a started Job has claimed its shard and knows its source');
      assert.equal(started.mode, 'online');
      const final = await migrations.result(started.id);
      assert.equal(final.status, 'released', final.error);
      assert.deepEqual(await migrations.get(started.id), final, 'get of a finished job is its result');

      const back = await migrations.start({ org, ns: 'other', to: 'node-a' });
      assert.equal(typeof back, 'string');
      assert.equal((await migrations.result(back)).to, 'node-a');
    });
  });

  it('get of an unknown job is null; snapshot and cancel of one say UnknownJob', async () => {
    await withWorker(t, async (migrations) => {
      assert.equal(await migrations.get('no-such-job'), null);
      await assert.rejects(migrations.snapshot('no-such-job'), { type: ErrorType.UnknownJob });
      await assert.rejects(migrations.cancel('no-such-job'), { type: ErrorType.UnknownJob });
    });
  });

  it('list filters by status, org, namespace and node, newest first', async () => {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => uniqueId(`node-${n}`)); // node names unique to this test, too
    t.close();
    t = await makeCluster({ nodes: [a, b, c] });
    await seedShard(t, org, 'default', a, 20);
    await seedShard(t, org, 'big', a, BIG.rows, BIG.rowBytes);
    await withWorker(
      t,
      async (migrations) => {
        const released = await migrations.migrate({ org, ns: 'default', to: b });
        await assert.rejects(migrations.start({ org, ns: 'default', to: b }), { type: ErrorType.SameNode });
        const running = await migrations.start({ org, ns: 'big', to: c });
        await untilStatus(migrations, running, 'copying');

        const ids = (jobs: Job[]) => jobs.map((job) => job.id);
        const all = await eventually('visibility to list all three jobs', async () => {
          const jobs = await migrations.list({ org });
          return jobs.length === 3 && jobs.some((job) => job.id === running && job.status === 'copying') ? jobs : undefined;
        });
        assert.deepEqual(ids(all).slice(0, 1), [running], 'newest first');
        assert.ok(all.every((job, i) => i === 0 || job.startedAt <= all[i - 1].startedAt));
        const refused = all.find((job) => job.status === 'failed')!;
        assert.ok(refused, 'the refused start is a failed job');

        assert.deepEqual(ids(await migrations.list({ org, status: 'released' })), [released.id]);
        assert.deepEqual(ids(await migrations.list({ org, status: 'copying' })), [running]);
        assert.deepEqual(ids(await migrations.list({ org, status: 'failed' })), [refused.id]);
        assert.deepEqual(ids(await migrations.list({ org, ns: 'big' })), [running]);
        assert.deepEqual(ids(await migrations.list({ node: c })), [running]);
        assert.deepEqual(ids(await migrations.list({ node: a })).sort(), [released.id, running].sort());
        assert.deepEqual(ids(await migrations.list({ org, running: true })), [running]);
        assert.deepEqual(await migrations.list({ org: uniqueId('nobody') }), []);
        await assert.rejects(migrations.list({ status: 'moving' as JobStatus }), { type: ErrorType.InvalidInput });

        await migrations.cancel(running);
        assert.equal((await migrations.result(running)).status, 'failed');
      },
      SLOW_COPY,
    );
  });

  it('watch yields snapshots in phase order, with copy progress, ending with the final Job', async () => {
    await seedShard(t, org, 'default', 'node-a', 600, 2048);
    const snaps = await withWorker(
      t,
      async (migrations) => {
        const id = await migrations.start({ org, ns: 'default', to: 'node-b' });
        const seen = [];
        for await (const snap of migrations.watch(id, 50)) seen.push(snap);
        return seen;
      },
      { copyBytesPerSecond: 512 * 1024 },
    );
    const order = ['pending', 'locking', 'copying', 'replaying', 'released'];
    const statuses = snaps.map((snap) => snap.status);
    assert.deepEqual(statuses, [...statuses].sort((x, y) => order.indexOf(x) - order.indexOf(y)), `phase order: ${statuses}`);
    assert.ok(statuses.includes('copying'), `copying seen: ${statuses}`);
    const progress = snaps.filter((snap) => snap.progress).map((snap) => snap.progress!);
    assert.ok(progress.length > 0 && progress.some((p) => p.bytesCopied > 0), 'the copy heartbeat shows in snapshots');
    assert.ok(progress.every((p, i) => p.totalBytes > 0 && (i === 0 || p.bytesCopied >= progress[i - 1].bytesCopied)));
    const last = snaps[snaps.length - 1];
    assert.equal(last.status, 'released');
    assert.equal(last.progress, undefined);
  });

  it('cancel of a running job fails it as cancelled and rolls it back', async () => {
    await seedShard(t, org, 'default', 'node-a', BIG.rows, BIG.rowBytes);
    const job = await withWorker(
      t,
      async (migrations) => {
        const id = await migrations.start({ org, ns: 'default', to: 'node-b' });
        await untilStatus(migrations, id, 'copying');
        await migrations.cancel(id);
        return migrations.result(id);
      },
      SLOW_COPY,
    );
    assert.equal(job.status, 'failed');
    assert.match(job.error ?? '', /cancelled by operator/);
    const [shard] = (await t.cluster.listShards());
    assert.deepEqual([shard.owner, shard.lockedBy, shard.rows], ['node-a', null, BIG.rows]);
    assert.equal((await t.cluster.catalog.shard(org, 'default')).jobId, null, 'the claim is released');
    assert.deepEqual(filesOn(t, 'node-b'), [], 'nothing of the job is left on node-b');
    await t.replicator.propose({ op: 'put', org, ns: 'default', task: { id: 'after', title: 'still writable on node-a' } });
  });

  it('cancel after the owner flipped leaves the job released', async () => {
    await seedShard(t, org, 'default', 'node-a', 50);
    const job = await withWorker(
      t,
      async (migrations) => {
        const id = await migrations.start({ org, ns: 'default', to: 'node-b' });
        // unlock has handed the shard over and is parked until its 10 s timeout; a retry then completes it.
        await eventually('the owner to flip to node-b', async () => ((await t.cluster.catalog.shard(org, 'default')).owner === 'node-b' ? true : undefined));
        await migrations.cancel(id);
        return migrations.result(id);
      },
      { hold: { activity: 'unlock', when: 'after' } },
    );
    assert.equal(job.status, 'released', job.error);
    const [shard] = (await t.cluster.listShards());
    assert.deepEqual([shard.owner, shard.lockedBy, shard.rows], ['node-b', null, 50]);
    assert.deepEqual(filesOn(t, 'node-a'), [], 'the source is removed as after any release');
  });

  it('examples/start-migration.ts moves a shard as a plain Node process', async () => {
    await seedShard(t, org, 'default', 'node-a', 100);
    const { stdout, stderr } = await withWorker(t, async (_migrations, taskQueue) =>
      promisify(execFile)(process.execPath, ['--require', 'tsx/cjs', 'examples/start-migration.ts', org, 'default', 'node-b'], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        env: { ...process.env, TEMPORAL_ADDRESS: suite().server.address, TEMPORAL_NAMESPACE: 'default', TASKSD_TASK_QUEUE: taskQueue },
      }),
    );
    const job = JSON.parse(stdout) as Job;
    assert.deepEqual([job.status, job.org, job.from, job.to], ['released', org, 'node-a', 'node-b']);
    assert.match(stderr, new RegExp(`started ${job.id}: ${org}/default node-a → node-b \\(offline\\)`));
    assert.match(stderr, /^released$/m);
    assert.equal((await t.cluster.listShards())[0].owner, 'node-b');
  });
});
