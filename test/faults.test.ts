// Fault injection is off the production path (faults/): a worker started without
// TASKSD_FAULTS=1 ignores leaked TASKSD_TEST_* variables and says so; with the switch
// its first log line says fault injection is on and names the points; and a test can
// hold a real worker process at a named point inside a step, look at the state there,
// and release it on an event it awaits.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { MigrationClient } from '../client';
import { faultsFromEnv, NO_FAULTS } from '../faults';
import { openShardFile, readState, type ShardState } from '../store/shard-file';
import { Faults } from './support/faults';
import { filesOn, makeCluster, seedShard, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process';

const ROWS = 300;

describe('fault injection (faults/): off unless switched on, named points inside steps', function () {
  this.timeout(180_000);
  let t: TestCluster;
  let workers: WorkerProcess[];
  let faults: Faults;
  let taskQueue: string;

  beforeEach(async () => {
    t = await makeCluster();
    workers = [];
    faults = new Faults();
    taskQueue = `faults-${randomUUID()}`;
    await seedShard(t, 'acme', 'default', 'node-a', ROWS, 256);
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await t.close();
    faults.cleanup();
  });

  async function worker(extra: NodeJS.ProcessEnv): Promise<WorkerProcess> {
    const w = await startWorkerProcess({ address: suite().server.address, dataRoot: t.root, catalog: t.env.TASKSD_CATALOG, taskQueue, extra });
    workers.push(w);
    return w;
  }
  const client = () => new MigrationClient(suite().client, taskQueue, undefined, t.cluster.catalog.clusterId);
  async function fileState(node: string): Promise<ShardState> {
    const db = openShardFile(await t.cluster.fileOn(node, 'acme', 'default'));
    try {
      return readState(db);
    } finally {
      db.close();
    }
  }
  async function assertReleasedOnB(status: string, error?: string): Promise<void> {
    assert.equal(status, 'released', error);
    const shard = await t.cluster.catalog.shard('acme', 'default');
    assert.deepEqual([shard.owner, shard.jobId], ['node-b', null]);
    assert.equal((await fileState('node-b')).lockedBy, null);
    assert.equal((await fileState('node-b')).rows, ROWS);
    assert.deepEqual(filesOn(t, 'node-a'), [], 'the source is retired');
    assert.deepEqual(filesOn(t, 'node-b'), ['acme.default.db']);
  }

  it('without TASKSD_FAULTS=1, a worker ignores TASKSD_TEST_HOLD and TASKSD_TEST_FAIL_COPY (warning once) and moves the shard', async () => {
    const w = await worker({ TASKSD_FAULTS: undefined, TASKSD_TEST_HOLD: 'lock:after', TASKSD_TEST_FAIL_COPY: 'ENOSPC', TASKSD_FAULTS_DIR: faults.dir });
    const job = await client().migrate({ org: 'acme', ns: 'default', to: 'node-b' });
    await assertReleasedOnB(job.status, job.error);
    const warnings = w.output().split('\n').filter((l) => l.includes('fault injection is off'));
    assert.equal(warnings.length, 1, w.output());
    assert.match(warnings[0], /^tasksd worker: ignoring TASKSD_TEST_HOLD, TASKSD_TEST_FAIL_COPY, TASKSD_FAULTS_DIR: fault injection is off; .*TASKSD_FAULTS=1/);
    assert.doesNotMatch(w.output(), /fault point|ENABLED|injected/);
  });

  it('with TASKSD_FAULTS=1, the first log line says fault injection is enabled and names every active point', async () => {
    const w = await worker(faults.env({ TASKSD_TEST_HOLD: ['unlock:after-release', 'retire:after-mark'], TASKSD_TEST_COPY_BYTES_PER_SEC: String(1024 * 1024 * 1024) }));
    const [first] = w.output().split('\n');
    assert.match(first, /^tasksd worker: fault injection ENABLED \(TASKSD_FAULTS=1\): /);
    for (const point of ['unlock:after-release', 'retire:after-mark']) {
      assert.ok(first.includes(`hold at ${point} (release: ${faults.dir}/${point}.release)`), first);
    }
    assert.ok(first.includes('copy rate capped at 1073741824 B/s'), first);
  });

  it('holds a worker inside unlock (lock released) and inside retire (source marked moved) until the test releases each', async () => {
    const w = await worker(faults.env({ TASKSD_TEST_HOLD: ['unlock:after-release', 'retire:after-mark'] }));
    const migrations = client();
    const id = await migrations.start({ org: 'acme', ns: 'default', to: 'node-b' });

    await faults.holding(w, 'unlock:after-release');
    // Inside the hand-off: the catalog flipped, the destination writable at the new epoch, the source not yet retired.
    const flipped = await t.cluster.catalog.shard('acme', 'default');
    assert.deepEqual([flipped.owner, flipped.jobId], ['node-b', id], 'owner flipped, claim still held');
    const dest = await fileState('node-b');
    assert.deepEqual([dest.lockedBy, dest.epoch], [null, flipped.epoch], 'destination unlocked at the new epoch');
    const source = await fileState('node-a');
    assert.deepEqual([source.state, source.lockedBy], ['live', id], 'source still locked by the job, not retired');
    assert.equal((await migrations.get(id))?.status, 'replaying');
    assert.doesNotMatch(w.output(), /fault point retire:after-mark/);
    faults.release('unlock:after-release');

    await faults.holding(w, 'retire:after-mark');
    const marked = await fileState('node-a');
    assert.deepEqual([marked.state, marked.movedTo], ['moved', 'node-b'], 'source marked moved, still on disk');
    assert.ok(filesOn(t, 'node-a').includes('acme.default.db'));
    assert.equal((await t.cluster.catalog.shard('acme', 'default')).jobId, id, 'claim not yet released');
    faults.release('retire:after-mark');

    const job = await migrations.result(id);
    await assertReleasedOnB(job.status, job.error);
    assert.match(w.output(), /fault point unlock:after-release: released[\s\S]*fault point retire:after-mark: released/);
  });

  it('faultsFromEnv: no switch is NO_FAULTS; the switch refuses an unknown point and bad numbers', () => {
    const said: string[] = [];
    assert.equal(faultsFromEnv({}, (l) => said.push(l)), NO_FAULTS);
    assert.equal(said.length, 0, 'nothing set, nothing said');
    assert.equal(faultsFromEnv({ TASKSD_FAULTS: 'yes' }, (l) => said.push(l)), NO_FAULTS);
    assert.throws(() => faultsFromEnv({ TASKSD_FAULTS: '1', TASKSD_TEST_HOLD: 'unlock:somewhere' }, () => {}), /unknown fault point unlock:somewhere; known: .*unlock:after-release/);
    assert.throws(() => faultsFromEnv({ TASKSD_FAULTS: '1', TASKSD_TEST_FREE_BYTES: 'lots' }, () => {}), /TASKSD_TEST_FREE_BYTES=lots is not an integer/);
    const on = faultsFromEnv({ TASKSD_FAULTS: '1' }, (l) => said.push(l));
    assert.equal(on.enabled, true);
    assert.match(said.at(-1)!, /^fault injection ENABLED \(TASKSD_FAULTS=1\): no points active$/);
  });
});
