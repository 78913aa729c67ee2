// `tasksd shards` (the real binary) over a cluster where one shard's file is gone and
// another's header is damaged: each shows its own error, every other shard is listed,
// and a claim without a lock (an online copy, a stranded claim) is visible.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type { ShardListing } from '../store/cluster';
import { removeDatabaseFiles } from '../store/durable-fs';
import { openShardFile } from '../store/shard-file';
import { makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';
import { tasksd } from './support/run';

describe('tasksd shards with damaged and missing shard files', () => {
  let t: TestCluster;
  beforeEach(async () => (t = await makeCluster()));
  afterEach(() => t.close());

  const shards = (args: string[] = []) => tasksd(['shards', ...args], { ...t.env, TEMPORAL_ADDRESS: suite().server.address });

  /** Overwrites the "SQLite format 3" header, the way a bad write or a stray tool would. */
  function damageHeader(file: string): void {
    const db = openShardFile(file);
    db.pragma('wal_checkpoint(TRUNCATE)'); // the whole shard is in the main file, none in a WAL beside it
    db.close();
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(100, 'x'), 0, 100, 0);
    fs.closeSync(fd);
  }

  it('lists every shard, each unreadable one with its own error, and shows claims', async () => {
    await seedShard(t, 'acme', 'claimed', 'node-b', 2);
    await seedShard(t, 'acme', 'gone', 'node-a', 3);
    await seedShard(t, 'acme', 'good', 'node-a', 5);
    await seedShard(t, 'acme', 'mangled', 'node-b', 4);
    (await t.cluster.catalog.claim('acme', 'claimed', 'job-online')); // claimed, not locked: an online copy in progress
    const gone = (await t.cluster.fileOn('node-a', 'acme', 'gone'));
    const mangled = (await t.cluster.fileOn('node-b', 'acme', 'mangled'));
    removeDatabaseFiles(gone);
    damageHeader(mangled);

    // The listing comes from each owner's agent: the cluster is served meanwhile.
    const [json, table] = await withWorker(t, () => Promise.all([shards(['--json']), shards()]));
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stderr, '');
    const listed = JSON.parse(json.stdout) as ShardListing[];
    assert.deepEqual(listed, (await t.cluster.listShards()), 'the CLI prints what the store lists');
    assert.deepEqual(listed.map((s) => `${s.org}/${s.ns}`), ['acme/claimed', 'acme/gone', 'acme/good', 'acme/mangled']);
    const [claimed, missing, good, damaged] = listed;

    assert.deepEqual(
      { ...good, bytes: undefined },
      { org: 'acme', ns: 'good', owner: 'node-a', lockedBy: null, claimedBy: null, seq: 5, rows: 5, bytes: undefined },
    );
    assert.ok(good.bytes! > 0);
    assert.deepEqual([claimed.claimedBy, claimed.lockedBy, claimed.rows], ['job-online', null, 2]);

    assert.deepEqual([missing.owner, missing.lockedBy, missing.claimedBy, missing.seq, missing.bytes, missing.rows], ['node-a', null, null, null, null, null]);
    assert.ok('error' in missing);
    assert.equal(missing.error, `shard file ${gone} does not exist; restore it from a backup`);

    assert.ok('error' in damaged);
    assert.equal(damaged.error, `shard file ${mangled} cannot be read: file is not a database; restore it from a backup`);
    assert.deepEqual([damaged.owner, damaged.seq, damaged.rows, damaged.bytes], ['node-b', null, null, fs.statSync(mangled).size]);
    assert.equal('error' in good || 'error' in claimed, false, 'readable shards carry no error field');

    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stderr, '');
    const row = (shard: string) => table.stdout.split('\n').find((line) => line.includes(` ${shard} `)) ?? '';
    assert.match(table.stdout, /shard\s.*owner\s.*claimed by\s.*locked by\s.*seq\s.*size\s.*rows\s.*error/);
    assert.match(row('acme/claimed'), /node-b\s.*job-online\s.*-\s.*2\s.*-/);
    assert.match(row('acme/good'), /node-a\s.*-\s.*-\s.*5\s.*5\s.*-/);
    assert.match(row('acme/gone'), new RegExp(`node-a\\s.*\\?.*shard file ${gone} does not exist; restore it from a backup`));
    assert.match(row('acme/mangled'), new RegExp(`node-b\\s.*\\?.*shard file ${mangled} cannot be read: file is not a database`));
  });
});
