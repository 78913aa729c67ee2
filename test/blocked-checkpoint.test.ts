// An offline move whose source is held open by a reader (a read transaction pins the
// WAL, so the checkpoint before the copy cannot finish): the copy waits for it,
// heartbeating and saying so in its heartbeat details, and either goes on once the
// reader lets go or, past TASKSD_CHECKPOINT_WAIT_MS, fails the job naming the reader.
import { strict as assert } from 'node:assert';
import { ErrorType } from '../common/errors';
import type { MigrationClient } from '../client';
import { CHECKPOINT_WAIT_ENV } from '../store/checkpoint';
import { openShardFile, type ShardDb } from '../store/shard-file';
import { eventually } from './support/eventually';
import { filesOn, makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';

describe('a checkpoint blocked by a reader', () => {
  let t: TestCluster;
  let reader: ShardDb | undefined;
  const savedLimit = process.env[CHECKPOINT_WAIT_ENV];

  beforeEach(async () => {
    t = await makeCluster();
    await seedShard(t, 'acme', 'default', 'node-a', 300);
    // A reader in the middle of a read transaction, like a sqlite3 shell left open.
    reader = openShardFile((await t.cluster.fileOn('node-a', 'acme', 'default')), { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM tasks').get();
  });
  afterEach(async () => {
    reader?.close();
    await t.close();
    if (savedLimit === undefined) delete process.env[CHECKPOINT_WAIT_ENV];
    else process.env[CHECKPOINT_WAIT_ENV] = savedLimit;
  });

  /** The job's snapshot (the pin's heartbeat) says what it waits for; resolves once it has waited at least `seconds`. */
  function waitingFor(m: MigrationClient, id: string, seconds: number): Promise<string> {
    return eventually(`the copy to report waiting ${seconds} s for the reader`, async () => {
      const waiting = (await m.snapshot(id)).progress?.waiting;
      const waited = Number(/for (\d+) s/.exec(waiting ?? '')?.[1] ?? -1);
      return waited >= seconds ? waiting : undefined;
    }, 60_000);
  }

  it('waits for the reader past the heartbeat timeout, heartbeating, and copies once it lets go', async () => {
    process.env[CHECKPOINT_WAIT_ENV] = '60000';
    const source = (await t.cluster.fileOn('node-a', 'acme', 'default'));
    const job = await withWorker(t, async (m) => {
      const id = await m.start({ org: 'acme', ns: 'default', to: 'node-b' });
      // 12 s is past the copy's 10 s heartbeat timeout: only a heartbeating wait gets there in one attempt.
      const waiting = await waitingFor(m, id, 12);
      assert.equal(waiting, `checkpoint of ${source} blocked by a reader holding the WAL for ${/for (\d+) s/.exec(waiting)![1]} s (gives up after 60 s)`);
      const description = await suite().client.workflow.getHandle(id).describe();
      // The source's pin is the step that waits for the checkpoint.
      const pin = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'pinSnapshot');
      assert.equal(pin?.attempt, 1, 'the pin never timed out or retried while it waited');
      reader!.exec('COMMIT');
      return m.result(id);
    });
    assert.equal(job.status, 'released', job.error);
    const [shard] = (await t.cluster.listShards());
    assert.deepEqual([shard.owner, shard.lockedBy, shard.claimedBy, shard.rows], ['node-b', null, null, 300]);
  });

  it('fails the job with the reader as the cause once the wait runs out, and rolls back', async () => {
    process.env[CHECKPOINT_WAIT_ENV] = '2000';
    const source = (await t.cluster.fileOn('node-a', 'acme', 'default'));
    const job = await withWorker(t, (m) => m.migrate({ org: 'acme', ns: 'default', to: 'node-b' }));
    assert.equal(job.status, 'failed');
    assert.equal(job.errorType, ErrorType.ShardBusy);
    assert.equal(
      job.error,
      `the checkpoint of ${source} was blocked for 2 s by a reader holding the WAL (an open read transaction: a sqlite3 shell, ` +
        `a backup, a long query); close that reader and retry the migration (the limit is ${CHECKPOINT_WAIT_ENV}=2000)`,
    );
    const [shard] = (await t.cluster.listShards());
    assert.deepEqual([shard.owner, shard.lockedBy, shard.claimedBy, shard.rows], ['node-a', null, null, 300]);
    assert.deepEqual(filesOn(t, 'node-b'), []);
    // Writable again while the reader is still open: a reader never blocks a WAL writer.
    await t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id: 'after', title: 'accepted' } });
  });
});
