// Damage is blamed on the side that has it: a source whose rows no longer add up to its
// own state row (which quick_check cannot see) is refused before anything is locked, as
// SourceCorrupt naming its file and node; a sound source whose bytes are damaged on
// their way fails the SHA-256 comparison, pointing at the network and the destination.
import { strict as assert } from 'node:assert';
import { flipOneByte, type ActivityTestHooks } from '../faults';
import { ErrorType, TasksdError } from '../common/errors';
import { openShardFile } from '../store/shard-file';
import { structuralProblems } from '../store/sqlite-thread';
import { filesOn, makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';

describe('damage, blamed on the side that has it', () => {
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

  it('refuses a damaged source before locking it, naming its file, when quick_check passes but its rows do not add up', async () => {
    await seedShard(t, 'acme', 'default', 'node-a', 500);
    const source = (await t.cluster.fileOn('node-a', 'acme', 'default'));
    const db = openShardFile(source);
    db.pragma('wal_checkpoint(TRUNCATE)'); // the rows live in the main file, where the damage goes
    db.close();
    flipOneByte(source); // a title's letter case changes on disk: valid text, valid pages, wrong checksum
    assert.deepEqual(await structuralProblems(source), [], 'the damage is invisible to quick_check');

    const expected =
      `source shard acme/default at ${source} on node node-a is damaged: its rows add up to 500 rows with content checksum SUM, ` +
      'but its state row records 500 rows with SUM (a change on disk that SQLite did not make); refusing to copy a damaged shard, ' +
      'restore it from a backup first (nothing was changed)';
    // Refused before the claim: the start itself is answered with the refusal.
    await assert.rejects(
      withWorker(t, (m) => m.migrate({ org: 'acme', ns: 'default', to: 'node-b' })),
      (err: unknown) => err instanceof TasksdError && err.type === ErrorType.SourceCorrupt && err.message.replace(/\b[0-9a-f]{32}\b/g, 'SUM') === expected,
    );
    const [shard] = await t.cluster.listShards();
    assert.deepEqual([shard.owner, shard.lockedBy, shard.claimedBy], ['node-a', null, null]);
    assert.deepEqual(filesOn(t, 'node-b'), []);
  });

  it('blames the way to the destination when the copy does not match the source’s SHA-256', async () => {
    await seedShard(t, 'acme', 'default', 'node-a', 500);
    const job = await failedMove({ corruptCopy: true });
    assert.equal(job.errorType, ErrorType.VerificationFailed);
    assert.match(
      job.error ?? '',
      /^copy of acme\/default at .*node-b.*acme\.default\.db\.incoming does not match the source: sha256 of the \d+ bytes received is [0-9a-f]{64}, http:\/\/\S+ has [0-9a-f]{64} for snapshot \S+; the bytes were damaged on their way to the destination: retry, and if it repeats check the network and the destination disk$/,
    );
  });
});
