// A write sent to a node that no longer owns the shard (the owner was looked up just
// before a hand-off) is refused by that node's agent, naming the owner, and the client
// follows the new owner once (docs/NODES.md).
import { strict as assert } from 'node:assert';
import type { Catalog } from '../catalog/catalog';
import { clusterToken } from '../common/cluster-token';
import { ClusterClient } from '../transport/cluster-client';
import { Peers } from '../transport/peers';
import { ShardMovedError } from '../transport/wire';
import { makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';

describe('a write that reaches the old owner', () => {
  let t: TestCluster;
  beforeEach(async () => {
    t = await makeCluster();
    await seedShard(t, 'acme', 'default', 'node-a', 10);
  });
  afterEach(() => t.close());

  it('follows the new owner once: it lands on node-b, never on node-a', async () => {
    await withWorker(t, async (migrations) => {
      const moved = await migrations.migrate({ org: 'acme', ns: 'default', to: 'node-b' });
      assert.equal(moved.status, 'released', moved.error);
      // A catalog whose first answer is from before the hand-off.
      let stale = true;
      const catalog: Catalog = Object.create(t.cluster.catalog);
      catalog.shard = async (org, ns) => {
        const now = await t.cluster.catalog.shard(org, ns);
        if (!stale) return now;
        stale = false;
        return { ...now, owner: 'node-a', epoch: now.epoch - 1 };
      };
      const peers = new Peers(t.cluster.catalog, clusterToken(t.root));
      try {
        const direct = await peers.to('node-a');
        await assert.rejects(direct.put('acme', 'default', { id: 'x', title: 'to the old owner' }), (err: Error) => {
          assert.ok(err instanceof ShardMovedError, `${err.name}: ${err.message}`);
          assert.equal(err.owner, 'node-b');
          return true;
        });
        const { seq } = await new ClusterClient(catalog, peers).put('acme', 'default', { id: 'late', title: 'lands on node-b' });
        assert.equal(stale, false, 'the first lookup was the stale one');
        assert.equal((await t.cluster.getTask('acme', 'default', 'late'))?.seq, seq);
        const [shard] = await t.cluster.listShards();
        assert.deepEqual([shard.owner, shard.rows], ['node-b', 11]);
      } finally {
        await peers.close();
      }
    });
  });
});
