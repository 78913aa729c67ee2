// Jobs that end without their own rollback — terminated from the Temporal CLI at any
// phase — are reconciled by the cluster's reconciler with no operator action, or at
// once by `tasksd repair`: rolled back before the owner flipped, finished after it.
import { strict as assert } from 'node:assert';
import type { MigrationClient } from '../client';
import { reconcilerWorkflowId } from '../common/names';
import { ensureReconciler } from '../temporal/reconciler';
import type { ActivityTestHooks } from '../faults';
import { eventually } from './support/eventually';
import { filesOn, makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';
import { tasksd } from './support/run';
import { temporalCli } from './support/temporal-cli';

const ORG = 'acme';
const NS = 'default';
const ROWS = 2000;
/** Short, so each case takes seconds; the defaults (30 s each) are the same code. */
const RECONCILER = { intervalMs: 1000, graceMs: 2000 };

describe('jobs that end without their own rollback', () => {
  let t: TestCluster;
  beforeEach(async () => {
    t = await makeCluster();
    await seedShard(t, ORG, NS, 'node-a', ROWS, 512);
  });
  afterEach(() => t.close());

  const catalogShard = () => t.cluster.catalog.shard(ORG, NS);
  const summary = async () => (await t.cluster.listShards())[0];
  const shardFilesOn = (node: string) => filesOn(t, node).filter((f) => !/-(wal|shm)$/.test(f));

  async function terminate(jobId: string): Promise<void> {
    await temporalCli('workflow', 'terminate', '--workflow-id', jobId, '--reason', 'operator pressed terminate');
  }

  /** Strands a job at a point with a worker carrying `hooks`, terminates it there, and returns its id. */
  async function strand(
    hooks: ActivityTestHooks,
    mode: 'offline' | 'online',
    atPoint: (migrations: MigrationClient, jobId: string) => Promise<void>,
  ): Promise<string> {
    return withWorker(
      t,
      async (migrations) => {
        const jobId = await migrations.start({ org: ORG, ns: NS, to: 'node-b', mode });
        await atPoint(migrations, jobId);
        await terminate(jobId);
        return jobId;
      },
      hooks,
    );
  }

  /** A worker without hooks and the reconciler: waits for the claim to go, then moves the shard again. */
  async function reconcileThenMoveAgain(jobId: string, expectOwner: string, check: () => void): Promise<void> {
    await withWorker(t, async (migrations, taskQueue) => {
      const { workflowId: reconciler } = await ensureReconciler(suite().client, taskQueue, { cluster: t.cluster.catalog.clusterId, ...RECONCILER });
      try {
        await eventually(`the claim of ${jobId} to be reconciled`, async () => ((await catalogShard()).jobId === null ? true : undefined), 60_000);
        assert.equal((await catalogShard()).owner, expectOwner, 'exactly one owner');
        assert.equal((await summary()).lockedBy, null, 'writable');
        assert.equal((await summary()).rows, ROWS, 'every row present');
        check();
        await t.replicator.propose({ op: 'put', org: ORG, ns: NS, task: { id: 'after-reconcile', title: 'writable again' } });
        const other = expectOwner === 'node-a' ? 'node-b' : 'node-a';
        const again = await migrations.migrate({ org: ORG, ns: NS, to: other });
        assert.equal(again.status, 'released', again.error);
        assert.equal((await catalogShard()).owner, other);
        assert.equal((await t.cluster.getTask(ORG, NS, 'after-reconcile'))?.title, 'writable again');
      } finally {
        await suite().client.workflow.getHandle(reconciler).terminate('test over');
      }
    });
  }

  it('terminated mid-copy (offline): rolled back, lock lifted, partial copy removed', async () => {
    const jobId = await strand({ copyBytesPerSecond: 256 * 1024 }, 'offline', async (migrations, id) => {
      for await (const snap of migrations.watch(id, 100)) if ((snap.progress?.bytesCopied ?? 0) > 0) break;
      assert.equal((await summary()).lockedBy, id, 'locked while copying');
    });
    await reconcileThenMoveAgain(jobId, 'node-a', () => assert.deepEqual(shardFilesOn('node-b'), [], 'no partial copy left'));
  });

  it('terminated at the cut-over (offline, copy installed): rolled back, the full copy removed', async () => {
    const jobId = await strand({ hold: { activity: 'handOff', when: 'before' } }, 'offline', async (_m, id) => {
      await eventually('the copy installed', () => (shardFilesOn('node-b').includes(`${ORG}.${NS}.db`) ? true : undefined));
      assert.equal((await summary()).lockedBy, id);
    });
    await reconcileThenMoveAgain(jobId, 'node-a', () => assert.deepEqual(shardFilesOn('node-b'), []));
  });

  it('terminated after the owner flipped: the hand-off is finished, not undone', async () => {
    const jobId = await strand({ hold: { activity: 'unlock', when: 'before' } }, 'offline', async (_m, id) => {
      // The job dies right after its commit point: the catalog says node-b, both files remain.
      await eventually('the owner flipped', async () => ((await catalogShard()).owner === 'node-b' ? true : undefined));
      assert.equal((await catalogShard()).jobId, id);
      assert.deepEqual([shardFilesOn('node-a'), shardFilesOn('node-b')], [[`${ORG}.${NS}.db`], [`${ORG}.${NS}.db`]]);
    });
    await reconcileThenMoveAgain(jobId, 'node-b', () => {
      assert.deepEqual(shardFilesOn('node-a'), [], 'the old source is retired');
      assert.deepEqual(shardFilesOn('node-b'), [`${ORG}.${NS}.db`]);
    });
  });

  it('terminated during an online move (claimed, not locked): the claim shows, then goes with the copy', async () => {
    const jobId = await strand({ hold: { activity: 'catchUp', when: 'before' } }, 'online', async (_m, id) => {
      await eventually('the online copy installed', () => (shardFilesOn('node-b').includes(`${ORG}.${NS}.db`) ? true : undefined));
      assert.equal((await summary()).lockedBy, null, 'writable during an online copy');
      assert.equal((await catalogShard()).jobId, id, 'claimed');
    });
    await reconcileThenMoveAgain(jobId, 'node-a', () => assert.deepEqual(shardFilesOn('node-b'), []));
  });

  it('tasksd repair: nothing to do while the job runs; after terminate it rolls back now and says what it did', async () => {
    await withWorker(
      t,
      async (migrations, taskQueue) => {
        const env = { ...t.env, TEMPORAL_ADDRESS: suite().server.address, TASKSD_TASK_QUEUE: taskQueue, TASKSD_RECONCILE_GRACE: '1' };
        const jobId = await migrations.start({ org: ORG, ns: NS, to: 'node-b' });
        await eventually('the shard locked', async () => ((await summary()).lockedBy === jobId ? true : undefined));

        const idle = await tasksd(['repair'], env);
        assert.equal(idle.code, 0, idle.stderr);
        assert.equal(idle.stdout, 'nothing needed doing: 1 claim(s) held, all by running jobs\n');
        assert.equal((await summary()).lockedBy, jobId, 'a running job is left alone');

        await terminate(jobId);
        const repaired = await tasksd(['repair', '--org', ORG, '--namespace', NS], env);
        assert.equal(repaired.code, 0, repaired.stderr);
        assert.equal(repaired.stderr, '');
        assert.equal(
          repaired.stdout,
          `${ORG}/${NS}: job ${jobId} terminated; rolled back: lifted the lock on node-a; released the claim of job ${jobId}\n`,
        );
        assert.deepEqual([(await catalogShard()).jobId, (await summary()).lockedBy, (await summary()).owner], [null, null, 'node-a']);

        const again = await tasksd(['repair', '--json'], env);
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(JSON.parse(again.stdout), { cluster: t.cluster.catalog.clusterId, claims: 0, actions: [] });
        const put = await tasksd(['put', '--org', ORG, '--namespace', NS, '--id', 'x', '--title', 'writable'], env);
        assert.equal(put.code, 0, put.stderr);
      },
      { hold: { activity: 'lock', when: 'after' } },
    );
  });

  it('the reconciler is one durable workflow per cluster, started once however many workers start it', async () => {
    const cluster = t.cluster.catalog.clusterId;
    const first = await ensureReconciler(suite().client, 'reconciler-once', { cluster, ...RECONCILER });
    const second = await ensureReconciler(suite().client, 'reconciler-once', { cluster, ...RECONCILER });
    assert.equal(first.workflowId, reconcilerWorkflowId(cluster));
    assert.deepEqual(second, first, 'the second start joins the running reconciler');
    const handle = suite().client.workflow.getHandle(first.workflowId);
    const description = await handle.describe();
    assert.deepEqual([description.runId, description.status.name, description.taskQueue], [first.runId, 'RUNNING', `reconciler-once@${cluster}`]);
    await handle.terminate('test over');
  });
});
