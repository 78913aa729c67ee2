// A copy that fails verification blames the side that is damaged: a source whose rows
// no longer add up to its own state row (which the pre-copy quick_check cannot see)
// fails the move as SourceCorrupt naming the source file; a sound source with a
// damaged copy still points at the copy and the destination disk.
import { strict as assert } from 'node:assert';
import { flipOneByte, type ActivityTestHooks } from '../faults';
import { ErrorType } from '../common/errors';
import { openShardFile } from '../store/shard-file';
import { structuralProblems } from '../store/sqlite-thread';
import { filesOn, makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';

describe('a copy that fails verification', () => {
  let t: TestCluster;
  beforeEach(async () => (t = await makeCluster()));
  afterEach(() => t.close());

  async function failedMove(hooks: ActivityTestHooks = {}) {
    const job = await withWorker(t, (m) => m.migrate({ org: 'acme', ns: 'default', to: 'node-b' }), hooks);
    assert.equal(job.status, 'failed');
    // Rolled back: the source still owns the shard, unlocked and unclaimed, nothing left on node-b.
    const [shard] = (await t.cluster.listShards());
    assert.deepEqual([shard.owner, shard.lockedBy, shard.claimedBy], ['node-a', null, null]);
    assert.deepEqual(filesOn(t, 'node-b'), []);
    return job;
  }

  it('blames a damaged source, naming its file, when quick_check passes but its rows do not add up', async () => {
    await seedShard(t, 'acme', 'default', 'node-a', 500);
    const source = (await t.cluster.fileOn('node-a', 'acme', 'default'));
    const db = openShardFile(source);
    db.pragma('wal_checkpoint(TRUNCATE)'); // the rows live in the main file, where the damage goes
    db.close();
    flipOneByte(source); // a title's letter case changes on disk: valid text, valid pages, wrong checksum
    assert.deepEqual(await structuralProblems(source), [], 'the damage is invisible to quick_check');

    const job = await failedMove();
    assert.equal(job.errorType, ErrorType.SourceCorrupt);
    assert.equal(
      job.error?.replace(/\b[0-9a-f]{32}\b/g, 'SUM'),
      `source shard acme/default at ${source} on node node-a is damaged: its rows add up to 500 rows with content checksum SUM, ` +
        'but its state row records 500 rows with SUM (a change on disk that SQLite did not make); the copy inherited ' +
        'the damage, so the destination is not to blame: restore the shard from a backup first (the source stays the owner, unchanged)',
    );
  });

  it('blames the copy and the destination disk when the copy no longer matches the source’s SHA-256', async () => {
    await seedShard(t, 'acme', 'default', 'node-a', 500);
    const job = await failedMove({ corruptCopy: true });
    assert.equal(job.errorType, ErrorType.VerificationFailed);
    assert.match(
      job.error ?? '',
      /^copy of acme\/default at .*node-b.*acme\.default\.db\.incoming does not match the source: .*; the copy no longer matches the source's SHA-256, so it was damaged on its way to or on the destination disk \(.*node-b\): retry, and if it repeats check that disk$/,
    );
  });
});
