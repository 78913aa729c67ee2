// The store and the local replicator alone: seq, locks, ownership checks, missing files.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { ErrorType, TasksdError } from '../common/errors';
import { openShardFile, readState } from '../store/shard-file';
import { recomputeContentSum } from '../store/content-sum';
import { replayChanges } from '../store/replay';
import { storedFingerprint } from '../store/verify';
import { makeCluster, seedShard, filesOn, type TestCluster } from './support/fixtures';

function rejectsWith(type: string, pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof TasksdError, `expected a TasksdError, got ${err}`);
    assert.equal(err.type, type);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('store and local replicator', () => {
  let t: TestCluster;
  beforeEach(async () => (t = await makeCluster()));
  afterEach(() => t.close());

  it('gives every frame the next seq and keeps the rows', async () => {
    await t.cluster.createShard('acme', 'default', 'node-a');
    const first = await t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id: 'a', title: 'one' } });
    const second = await t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id: 'a', title: 'two' } });
    const third = await t.replicator.propose({ op: 'delete', org: 'acme', ns: 'default', id: 'a' });
    assert.deepEqual([first.seq, second.seq, third.seq], [1, 2, 3]);
    assert.equal((await t.cluster.getTask('acme', 'default', 'a')), undefined);
    const [shard] = (await t.cluster.listShards());
    assert.deepEqual({ ...shard, bytes: undefined }, { org: 'acme', ns: 'default', owner: 'node-a', lockedBy: null, claimedBy: null, seq: 3, rows: 0, bytes: undefined });
  });

  it('refuses writes while locked, applies nothing refused, and accepts them again after unlock', async () => {
    await seedShard(t, 'acme', 'default', 'node-a', 10);
    const { seq: barrier } = await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-1' });
    assert.equal(barrier, 11);
    await assert.rejects(
      t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id: 'x', title: 'refused' } }),
      rejectsWith(ErrorType.ShardLocked, /locked by migration job-1/),
    );
    assert.equal((await t.cluster.getTask('acme', 'default', 'x')), undefined);
    assert.equal((await t.cluster.listShards())[0].seq, 11);
    const again = await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-1' });
    assert.equal(again.seq, barrier, 'a repeated lock by the same job returns the same barrier');
    await assert.rejects(
      t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-2' }),
      rejectsWith(ErrorType.ShardBusy, /locked by migration job-1/),
    );
    await t.replicator.propose({ op: 'unlock', org: 'acme', ns: 'default', jobId: 'job-1' });
    const put = await t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id: 'x', title: 'accepted' } });
    assert.equal(put.seq, 13);
    assert.equal((await t.cluster.getTask('acme', 'default', 'x'))?.title, 'accepted');
  });

  it('never creates a shard file by opening a missing path', async () => {
    await seedShard(t, 'acme', 'default', 'node-a', 1);
    const file = (await t.cluster.fileOn('node-a', 'acme', 'default'));
    fs.rmSync(file);
    fs.rmSync(`${file}-wal`, { force: true });
    fs.rmSync(`${file}-shm`, { force: true });
    await assert.rejects(
      t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id: 'y', title: 'lost?' } }),
      rejectsWith(ErrorType.ShardMissing, /does not exist/),
    );
    assert.deepEqual(filesOn(t, 'node-a'), []);
    const destFile = await t.cluster.fileOn('node-b', 'acme', 'default');
    assert.throws(() => openShardFile(destFile), rejectsWith(ErrorType.ShardMissing, /does not exist/));
    assert.deepEqual(filesOn(t, 'node-b'), []);
  });

  it('names unknown shards and nodes', async () => {
    await assert.rejects(
      t.replicator.propose({ op: 'put', org: 'nope', ns: 'default', task: { id: 'a', title: 'a' } }),
      rejectsWith(ErrorType.UnknownShard, /unknown shard nope\/default/),
    );
    await assert.rejects(t.cluster.createShard('acme', 'default', 'node-z'), rejectsWith(ErrorType.UnknownNode, /unknown node node-z/));
  });

  it('a writer holding the old owner cannot write after the hand-off', async () => {
    await seedShard(t, 'acme', 'default', 'node-a', 3);
    const stale = openShardFile((await t.cluster.fileOn('node-a', 'acme', 'default')));
    try {
      await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-1' });
      assert.equal(readState(stale).lockedBy, 'job-1', 'the stale connection sees the barrier inside its next transaction');
    } finally {
      stale.close();
    }
  });
});

describe('content checksum and replay', () => {
  let t: TestCluster;
  beforeEach(async () => (t = await makeCluster()));
  afterEach(() => t.close());

  function scan(file: string) {
    const db = openShardFile(file);
    try {
      return { stored: storedFingerprint(db), actual: recomputeContentSum(db) };
    } finally {
      db.close();
    }
  }

  it('every write keeps the stored checksum equal to a full recomputation', async () => {
    await seedShard(t, 'acme', 'default', 'node-a', 50, 16);
    await t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id: 't00003', title: 'changed' } });
    await t.replicator.propose({ op: 'delete', org: 'acme', ns: 'default', id: 't00004' });
    await t.replicator.propose({ op: 'delete', org: 'acme', ns: 'default', id: 'never-existed' });
    const { stored, actual } = scan((await t.cluster.fileOn('node-a', 'acme', 'default')));
    assert.equal(stored.rows, 49);
    assert.equal(actual.rows, 49);
    assert.equal(stored.checksum, `sum128:${actual.sum}`);
  });

  it('replay brings a stale copy to the source state: same seq, rows and checksum as a fresh scan', async () => {
    await seedShard(t, 'acme', 'default', 'node-a', 100, 8);
    const sourceFile = (await t.cluster.fileOn('node-a', 'acme', 'default'));
    const copyFile = (await t.cluster.fileOn('node-b', 'acme', 'default'));
    const source = openShardFile(sourceFile);
    source.pragma('wal_checkpoint(TRUNCATE)');
    fs.copyFileSync(sourceFile, copyFile);
    const put = (id: string, title: string) => t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id, title } });
    await put('t00001', 'updated');
    await put('new-1', 'inserted');
    await put('new-2', 'inserted then deleted');
    await t.replicator.propose({ op: 'delete', org: 'acme', ns: 'default', id: 'new-2' });
    await t.replicator.propose({ op: 'delete', org: 'acme', ns: 'default', id: 't00002' });
    const copy = openShardFile(copyFile);
    try {
      assert.deepEqual(replayChanges(source, copy), { frames: 5, seq: 105 });
      assert.deepEqual(replayChanges(source, copy), { frames: 0, seq: 105 }, 'a second replay applies nothing');
      assert.deepEqual(storedFingerprint(copy), storedFingerprint(source));
    } finally {
      copy.close();
      source.close();
    }
    const { stored, actual } = scan(copyFile);
    assert.equal(stored.checksum, `sum128:${actual.sum}`);
    assert.equal(actual.rows, 100);
  });
});
