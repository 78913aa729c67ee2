// Whole migrations through a real Temporal server and real SQLite files.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { ErrorType } from '../common/errors';
import { MigrationBytes, MigrationFrom, MigrationNs, MigrationOrg, MigrationStatus, MigrationTo } from '../common/search-attributes';
import { statusQuery } from '../workflows/definitions';
import { filesOn, makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';

describe('migrateShard', () => {
  let t: TestCluster;
  beforeEach(async () => (t = await makeCluster()));
  afterEach(() => t.close());

  for (const mode of ['offline', 'online'] as const) {
    it(`moves a shard ${mode}: rows, owner, status, search attributes, query`, async () => {
      await seedShard(t, 'acme', 'default', 'node-a', 3000, 64);
      const [job, queried] = await withWorker(t, async (migrations) => {
        const final = await migrations.migrate({ org: 'acme', ns: 'default', to: 'node-b', mode });
        return [final, await suite().client.workflow.getHandle(final.id).query(statusQuery)] as const;
      });

      assert.equal(job.status, 'released', job.error);
      assert.deepEqual([job.org, job.ns, job.from, job.to, job.mode], ['acme', 'default', 'node-a', 'node-b', mode]);
      assert.ok(job.bytes > 3000 * 64, `bytes ${job.bytes}`);
      assert.ok(job.finishedAt && job.finishedAt >= job.startedAt);
      assert.match(job.checksum ?? '', /^sum128:[0-9a-f]{32}$/);
      assert.ok(job.pauseMs !== undefined && job.pauseMs >= 0);

      const [shard] = (await t.cluster.listShards());
      assert.equal(shard.owner, 'node-b');
      assert.equal(shard.lockedBy, null);
      assert.equal(shard.rows, 3000);
      assert.equal((await t.cluster.getTask('acme', 'default', 't02999'))?.title, 'task 2999');
      assert.deepEqual(filesOn(t, 'node-a'), [], 'the source file is removed after release');
      assert.deepEqual(filesOn(t, 'node-b'), ['acme.default.db']);

      const put = await t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id: 'after', title: 'lands on node-b' } });
      assert.equal(put.seq, shard.seq + 1);

      const handle = suite().client.workflow.getHandle(job.id);
      const description = await handle.describe();
      const sa = description.typedSearchAttributes;
      assert.deepEqual(
        [sa.get(MigrationStatus), sa.get(MigrationOrg), sa.get(MigrationNs), sa.get(MigrationFrom), sa.get(MigrationTo), sa.get(MigrationBytes)],
        ['released', 'acme', 'default', 'node-a', 'node-b', job.bytes],
      );
      assert.deepEqual(queried, job, 'the status query answers the final Job');
    });
  }

  it('keeps the source under a non-shard name when retention is on', async () => {
    t.close();
    t = await makeCluster({ retainSource: true });
    await seedShard(t, 'acme', 'default', 'node-a', 10);
    const job = await withWorker(t, (m) => m.migrate({ org: 'acme', ns: 'default', to: 'node-b' }));
    assert.equal(job.status, 'released');
    assert.deepEqual(filesOn(t, 'node-a'), [`acme.default.db.moved-${job.id}`]);
    assert.deepEqual((await t.cluster.listShards()).map((s) => s.owner), ['node-b']);
  });

  describe('failures leave the source owning and writable, and nothing on the destination', () => {
    async function expectRolledBack(to: string, pattern: RegExp, hooks = {}) {
      await seedShard(t, 'acme', 'default', 'node-a', 500);
      const before = fs.readdirSync((await t.cluster.catalog.node('node-b')).dir).sort();
      const job = await withWorker(t, async (m) => m.result(await m.start({ org: 'acme', ns: 'default', to }, { claimTimeoutMs: 60_000 }).catch((err) => {
        throw err;
      })), hooks);
      assert.equal(job.status, 'failed');
      assert.match(job.error ?? '', pattern);
      const [shard] = (await t.cluster.listShards());
      assert.deepEqual([shard.owner, shard.lockedBy, shard.rows], ['node-a', null, 500]);
      assert.equal((await t.cluster.catalog.shard('acme', 'default')).jobId, null, 'the claim is released');
      await t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id: 'still', title: 'writable' } });
      assert.deepEqual(filesOn(t, 'node-b'), before);
      return job;
    }

    it('a copy that fails verification is rolled back', async () => {
      const job = await expectRolledBack('node-b', /copy of acme\/default at .* does not match the source: sha256 of the \d+ bytes received is [0-9a-f]{64}, .* has [0-9a-f]{64} for snapshot .*; the bytes were damaged on their way to the destination/, { corruptCopy: true });
      assert.equal(job.from, 'node-a');
    });

    it('a copy that hits a full disk is rolled back', async () => {
      await expectRolledBack('node-b', /node node-b ran out of space while copying acme\/default/, { failCopyWith: 'ENOSPC' });
    });
  });

  describe('refusals change nothing', () => {
    it('an unknown node is refused at start, naming the node', async () => {
      await seedShard(t, 'acme', 'default', 'node-a', 5);
      await withWorker(t, async (m) => {
        await assert.rejects(m.start({ org: 'acme', ns: 'default', to: 'node-z' }), (err: Error & { type?: string }) => {
          assert.equal(err.type, ErrorType.UnknownNode);
          assert.match(err.message, /unknown node node-z/);
          return true;
        });
      });
      assert.deepEqual((await t.cluster.listShards()).map((s) => [s.owner, s.lockedBy, s.rows]), [['node-a', null, 5]]);
    });

    it('an online move whose cut-over alone exceeds the pause budget names that cost, not the writers', async () => {
      await seedShard(t, 'acme', 'default', 'node-a', 50);
      const job = await withWorker(t, (m) => m.migrate({ org: 'acme', ns: 'default', to: 'node-b', mode: 'online', maxPauseMs: 1 }));
      assert.deepEqual([job.status, job.errorType], ['failed', 'PauseBudgetExceeded']);
      assert.match(
        job.error ?? '',
        /^shard acme\/default cannot be cut over in time: with nothing behind, the cut-over's own work \(lock, replay, unlock: about \d+ ms on this shard and disk\) exceeds the 1 ms pause budget; raise --max-pause to at least \d+ ms or move it offline$/,
      );
      const [shard] = await t.cluster.listShards();
      assert.deepEqual([shard.owner, shard.lockedBy, shard.claimedBy, shard.rows], ['node-a', null, null, 50]);
      assert.deepEqual(filesOn(t, 'node-b'), []);
    });

    it('a destination that already holds the shard is refused', async () => {
      await seedShard(t, 'acme', 'default', 'node-a', 5);
      const squatter = (await t.cluster.fileOn('node-b', 'acme', 'default'));
      fs.writeFileSync(squatter, 'not yours');
      await withWorker(t, async (m) => {
        await assert.rejects(m.start({ org: 'acme', ns: 'default', to: 'node-b' }), (err: Error & { type?: string }) => {
          assert.equal(err.type, ErrorType.DestinationOccupied);
          assert.match(err.message, /node node-b already has a file for shard acme\/default/);
          return true;
        });
      });
      assert.equal(fs.readFileSync(squatter, 'utf8'), 'not yours');
      assert.equal((await t.cluster.listShards())[0].owner, 'node-a');
    });

    it('a second start for the same shard is refused at once, naming the running job', async () => {
      await seedShard(t, 'acme', 'default', 'node-a', 2000, 512);
      await t.cluster.addNode('node-c');
      await withWorker(
        t,
        async (m) => {
          const first = await m.start({ org: 'acme', ns: 'default', to: 'node-b' });
          await assert.rejects(m.start({ org: 'acme', ns: 'default', to: 'node-c' }), (err: Error & { type?: string }) => {
            assert.equal(err.type, ErrorType.ShardBusy);
            assert.ok(err.message.includes(first), `${err.message} names ${first}`);
            return true;
          });
          const done = await m.result(first);
          assert.equal(done.status, 'released');
        },
        { copyBytesPerSecond: 2 * 1024 * 1024 },
      );
      assert.deepEqual(filesOn(t, 'node-c'), []);
    });
  });
});
