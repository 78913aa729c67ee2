// Online moves under load: writer processes (loadgen/) put steadily through the real
// store while shards move, and loadgen's checker proves docs/CONTRACT.md invariant 2 afterwards
// (every acknowledged write on the final owner, nothing refused applied). Crashes
// use real worker processes and SIGKILL, as in crash.test.ts.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { type ReplayResult } from '../activities';
import { MigrationClient, type Job } from '../client';
import { MigrationPauseMs } from '../common/search-attributes';
import { checkWrites, moveUnderLoad, startWriters, type RunningWriters } from '../loadgen';
import { Cluster } from '../store/cluster';
import { LocalReplicator } from '../store/local-replicator';
import { filesOn, makeCluster, seedShard, serveCluster, whileServing, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';
import { holdingLine } from './support/faults';
import { startWorkerProcess, waitForOutput, type WorkerProcess } from './support/worker-process';

const ORG = 'acme';
const NS = 'default';
const ROWS = 1500;
const ROW_BYTES = 2048; // ~3.5 MiB: a throttled copy leaves a wide mid-copy window
// Modest load: the machine has two cores and every put fsyncs.
const LOAD = { writers: 3, ratePerSec: 15, keys: 20 };

describe('online moves under concurrent writers (other processes)', function () {
  this.timeout(180_000);
  let t: TestCluster;
  let writers: RunningWriters | undefined;
  let workers: WorkerProcess[];

  beforeEach(async () => {
    t = await makeCluster();
    workers = [];
    writers = undefined;
    await seedShard(t, ORG, NS, 'node-a', ROWS, ROW_BYTES);
  });
  afterEach(async () => {
    await writers?.stop().catch(() => undefined);
    await Promise.all(workers.map((w) => w.kill()));
    await t.close();
  });

  const logDir = () => path.join(t.root, 'writer-logs');
  const load = async () => (writers = await startWriters({ dataRoot: t.root, catalog: t.env.TASKSD_CATALOG, org: ORG, ns: NS, logDir: logDir(), ...LOAD }));

  /** Stops the writers once writes flow again, then checks every write against the final owner. */
  async function finishAndCheck(expectedOwner: string) {
    await writers!.waitForAcks(2 * LOAD.writers);
    const report = await writers!.stop();
    writers = undefined;
    const check = await checkWrites({ dataRoot: t.root, catalog: t.env.TASKSD_CATALOG, org: ORG, ns: NS, logs: report.logs });
    assert.deepEqual({ lost: check.lost, phantom: check.phantom, problems: check.problems }, { lost: 0, phantom: 0, problems: [] });
    assert.equal(check.owner, expectedOwner);
    assert.ok(check.acked > 0);
    return { report, check };
  }

  async function assertReleasedTo(job: Job, to: string): Promise<void> {
    assert.equal(job.status, 'released', job.error);
    assert.equal(job.mode, 'online');
    const shard = (await t.cluster.listShards())[0];
    assert.deepEqual([shard.owner, shard.lockedBy], [to, null]);
    assert.equal((await t.cluster.catalog.shard(ORG, NS)).jobId, null, 'claim released');
  }

  async function assertRolledBack(job: Job, pattern: RegExp): Promise<void> {
    assert.equal(job.status, 'failed');
    assert.match(job.error ?? '', pattern);
    const shard = (await t.cluster.listShards())[0];
    assert.deepEqual([shard.owner, shard.lockedBy], ['node-a', null], 'the source still owns the shard, unlocked');
    assert.equal((await t.cluster.catalog.shard(ORG, NS)).jobId, null, 'claim released');
    assert.deepEqual(filesOn(t, 'node-b'), [], 'nothing left on the destination');
  }

  it('moves back and forth four times: nothing acknowledged is lost, nothing refused applied', async () => {
    const result = await withWorker(t, (migrations) =>
      moveUnderLoad({ migrations, dataRoot: t.root, catalog: t.env.TASKSD_CATALOG, org: ORG, ns: NS, nodes: ['node-a', 'node-b'], moves: 4, logDir: logDir(), ...LOAD }),
    );
    assert.deepEqual(
      result.moves.map((m) => [m.job.status, m.job.from, m.job.to, m.job.error]),
      [
        ['released', 'node-a', 'node-b', undefined],
        ['released', 'node-b', 'node-a', undefined],
        ['released', 'node-a', 'node-b', undefined],
        ['released', 'node-b', 'node-a', undefined],
      ],
    );
    assert.deepEqual({ lost: result.check.lost, phantom: result.check.phantom, problems: result.check.problems }, { lost: 0, phantom: 0, problems: [] });
    assert.equal(result.check.owner, 'node-a');
    assert.equal(result.writes.refused, 0, 'a refused write is retried until the move ends, never given up');
    for (const { job } of result.moves) {
      assert.ok(job.pauseMs !== undefined && job.pauseMs >= 0, `pauseMs ${job.pauseMs}`);
      assert.match(job.checksum ?? '', /\S/);
    }
    const last = result.moves.at(-1)!.job;
    const attributes = (await suite().client.workflow.getHandle(last.id).describe()).typedSearchAttributes;
    assert.equal(attributes.get(MigrationPauseMs), last.pauseMs);
    await assertReleasedTo(last, 'node-a');
    assert.deepEqual(filesOn(t, 'node-b'), [], 'each move removes the file it moved away from');
    const pauses = result.moves.map((m, i) => `${m.job.pauseMs}/${result.writes.windows[i].longestGap.ms.toFixed(0)}`);
    console.log(`      pauseMs / longest write gap per move (ms): ${pauses.join(', ')}; ${result.check.acked} writes acknowledged`);
  });

  describe('with a worker process killed mid-move', () => {
    let taskQueue: string;
    beforeEach(() => (taskQueue = `online-${randomUUID()}`));

    async function doomedWorker(extra: NodeJS.ProcessEnv): Promise<WorkerProcess> {
      const w = await startWorkerProcess({ address: suite().server.address, dataRoot: t.root, catalog: t.env.TASKSD_CATALOG, taskQueue, extra });
      workers.push(w);
      return w;
    }

    /** The killed worker's successor: in this process, on the same queue (it is never killed, and needs no bundling). */
    async function successorUntil<T>(done: Promise<T>): Promise<T> {
      return whileServing(await serveCluster(t, taskQueue), () => done);
    }

    it('during the online copy: writes go on during the copy, and the next worker finishes the move', async () => {
      const first = await doomedWorker({ TASKSD_FAULTS: '1', TASKSD_TEST_COPY_BYTES_PER_SEC: String(256 * 1024) });
      await load();
      await writers!.waitForAcks(LOAD.writers);
      const migrations = new MigrationClient(suite().client, taskQueue, undefined, t.cluster.catalog.clusterId);
      const id = await migrations.start({ org: ORG, ns: NS, to: 'node-b', mode: 'online' });
      for await (const snap of migrations.watch(id, 100)) {
        if (snap.status === 'copying' && (snap.progress?.bytesCopied ?? 0) > 0) break;
      }
      // The shard is being copied and is still writable: writes are acknowledged meanwhile.
      await writers!.waitForAcks(LOAD.writers);
      await first.kill();
      assert.deepEqual(filesOn(t, 'node-b'), ['acme.default.db.incoming'], 'killed mid-copy');
      const job = await successorUntil(migrations.result(id));
      await assertReleasedTo(job, 'node-b');
      // The live owner keeps its WAL side files while writers use it; no .incoming is left.
      assert.deepEqual(filesOn(t, 'node-b').filter((f) => !/-(wal|shm)$/.test(f)), ['acme.default.db'], 'no partial copy left');
      await finishAndCheck('node-b');
    });

    it('during the locked replay: writes are refused and retried, none lost, and the next worker finishes', async () => {
      const first = await doomedWorker({ TASKSD_FAULTS: '1', TASKSD_TEST_HOLD: 'replay:after' });
      await load();
      await writers!.waitForAcks(LOAD.writers);
      const migrations = new MigrationClient(suite().client, taskQueue, undefined, t.cluster.catalog.clusterId);
      const id = await migrations.start({ org: ORG, ns: NS, to: 'node-b', mode: 'online' });
      await waitForOutput(first, holdingLine('replay:after'));
      await first.kill();
      assert.equal((await t.cluster.listShards())[0].lockedBy, id, 'killed behind the barrier');
      await assert.rejects(
        new LocalReplicator(t.cluster).propose({ op: 'put', org: ORG, ns: NS, task: { id: 'during', title: 'refused' } }),
        /locked by migration/,
      );
      const job = await successorUntil(migrations.result(id));
      await assertReleasedTo(job, 'node-b');
      const { report } = await finishAndCheck('node-b');
      assert.ok(report.retried > 0, 'writers met the barrier and retried');
      assert.equal((await t.cluster.getTask(ORG, NS, 'during')), undefined, 'the refused write was not applied');
    });
  });

  it('refuses a move whose cut-over cannot fit the pause budget, leaving the shard untouched', async () => {
    await load();
    await writers!.waitForAcks(LOAD.writers);
    const job = await withWorker(t, (migrations) => migrations.migrate({ org: ORG, ns: NS, to: 'node-b', mode: 'online', maxPauseMs: 1 }));
    await assertRolledBack(job, /pause budget/);
    assert.equal(job.pauseMs, undefined, 'the shard was never locked');
    await finishAndCheck('node-a');
  });

  it('catches a corrupted destination copy in online mode and rolls back', async () => {
    await load();
    await writers!.waitForAcks(LOAD.writers);
    const job = await withWorker(t, (migrations) => migrations.migrate({ org: ORG, ns: NS, to: 'node-b', mode: 'online' }), { corruptCopy: true });
    await assertRolledBack(job, /does not match the source/);
    await finishAndCheck('node-a');
  });

  it('a write that resolved the owner just before a cut-over retired its file follows the new owner', async () => {
    const job = await withWorker(t, (m) => m.migrate({ org: ORG, ns: NS, to: 'node-b', mode: 'online' }));
    await assertReleasedTo(job, 'node-b');
    // A cluster whose first owner lookup is stale, as if it ran just before the flip.
    let first = true;
    const stale: Cluster = Object.create(t.cluster);
    stale.ownerFile = async (org: string, ns: string) => {
      const current = await t.cluster.ownerFile(org, ns);
      if (!first) return current;
      first = false;
      const before = { ...current.shard, owner: 'node-a', epoch: current.shard.epoch - 1 };
      return { ...current, shard: before, file: await t.cluster.fileOn('node-a', org, ns) };
    };
    const { seq } = await new LocalReplicator(stale).propose({ op: 'put', org: ORG, ns: NS, task: { id: 'late', title: 'lands on node-b' } });
    assert.equal((await t.cluster.getTask(ORG, NS, 'late'))?.seq, seq);
  });
});
