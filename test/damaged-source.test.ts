// Damage is blamed on the side that has it: a source whose rows no longer add up to its
// own state row (which quick_check cannot see), or that fails quick_check, is found by
// the proof the source runs over the snapshot it serves, while it streams; the
// destination's digest request then fails as SourceCorrupt naming the file and node,
// and the move rolls back: nothing installed, the source as it was. A sound source
// whose bytes are damaged on their way fails the SHA-256 comparison, pointing at the
// network and the destination.
import { strict as assert } from 'node:assert';
import { flipOneByte, type ActivityTestHooks } from '../faults';
import { ErrorType } from '../common/errors';
import { openShardFile, readState } from '../store/shard-file';
import { inspectFile, structuralProblems } from '../store/sqlite-thread';
import { damageMiddlePage } from './support/damage';
import { filesOn, makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';

describe('damage, blamed on the side that has it', () => {
  let t: TestCluster;
  beforeEach(async () => (t = await makeCluster()));
  afterEach(() => t.close());

  async function failedMove(hooks: ActivityTestHooks = {}, mode: 'offline' | 'online' = 'offline') {
    const job = await withWorker(t, (m) => m.migrate({ org: 'acme', ns: 'default', to: 'node-b', mode }), hooks);
    assert.equal(job.status, 'failed');
    // Rolled back: the source still owns the shard, unlocked and unclaimed, nothing left on node-b.
    const [shard] = (await t.cluster.listShards());
    assert.deepEqual([shard.owner, shard.lockedBy, shard.claimedBy], ['node-a', null, null]);
    assert.deepEqual(filesOn(t, 'node-b'), []);
    return job;
  }

  /** What the source holds, apart from the seq the lock and its lifting add: rows, stored checksum, lock, and what a scan finds. */
  async function sourceState(file: string) {
    const db = openShardFile(file, { readonly: true });
    const { rows, contentSum, lockedBy, state } = readState(db);
    db.close();
    const inspected = await inspectFile(file);
    return { rows, contentSum, lockedBy, state, damage: inspected.damage?.kind ?? null };
  }

  async function damagedSource(damage: (file: string) => void, rows = 500, bodyBytes = 0): Promise<string> {
    await seedShard(t, 'acme', 'default', 'node-a', rows, bodyBytes);
    const source = await t.cluster.fileOn('node-a', 'acme', 'default');
    const db = openShardFile(source);
    db.pragma('wal_checkpoint(TRUNCATE)'); // the rows live in the main file, where the damage goes
    db.close();
    damage(source);
    return source;
  }

  for (const mode of ['offline', 'online'] as const) {
    it(`refuses to copy a damaged source (${mode}) when quick_check passes but its rows do not add up: found while it streams, rolled back`, async () => {
      const source = await damagedSource(flipOneByte); // a title's letter case changes on disk: valid text, valid pages, wrong checksum
      assert.deepEqual(await structuralProblems(source), [], 'the damage is invisible to quick_check');
      const before = await sourceState(source);
      assert.equal(before.damage, 'content');

      const job = await failedMove({}, mode);
      assert.equal(job.errorType, ErrorType.SourceCorrupt);
      assert.equal(
        (job.error ?? '').replace(/\b[0-9a-f]{32}\b/g, 'SUM'),
        `source shard acme/default at ${source} on node node-a is damaged: its rows add up to 500 rows with content checksum SUM, ` +
          'but its state row records 500 rows with SUM (a change on disk that SQLite did not make); refusing to copy a damaged shard, ' +
          'restore it from a backup first (the move was rolled back: nothing was changed)',
      );
      assert.deepEqual(await sourceState(source), before, 'the source is as it was: same rows, unlocked, still damaged');
    });
  }

  it('refuses to copy a source that fails quick_check: found while it streams, rolled back', async () => {
    const source = await damagedSource(damageMiddlePage, 2000, 200);
    assert.notDeepEqual(await structuralProblems(source), []);
    const before = await sourceState(source);

    const job = await failedMove();
    assert.equal(job.errorType, ErrorType.SourceCorrupt);
    assert.match(
      job.error ?? '',
      new RegExp(
        `^source shard acme/default at ${source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} on node node-a fails PRAGMA quick_check \\(.+\\); ` +
          'refusing to copy a damaged shard, restore it from a backup first \\(the move was rolled back: nothing was changed\\)$',
      ),
    );
    assert.deepEqual(await sourceState(source), before, 'the source is as it was');
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
