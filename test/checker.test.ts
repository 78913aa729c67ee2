// The acknowledged-write checker, checked: every online test trusts loadgen/check.ts to
// report a lost or a phantom write, so it must be shown to catch one of each (and to
// find nothing in an honest log).
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { checkWrites } from '../loadgen/check';
import { WriteLog, type WriteRecord } from '../loadgen/log';
import { makeCluster, seedShard, type TestCluster } from './support/fixtures';

describe('the acknowledged-write checker', () => {
  let t: TestCluster;
  beforeEach(async () => {
    t = await makeCluster();
    await seedShard(t, 'acme', 'default', 'node-a', 0);
  });
  afterEach(() => t.close());

  /** Really writes `value` to task `id` through the replicator; returns the seq it got. */
  async function write(id: string, value: string): Promise<number> {
    return (await t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id, title: value } })).seq;
  }

  function logOf(records: Array<Partial<WriteRecord> & Pick<WriteRecord, 'id' | 'value' | 'ok'>>): string {
    const file = path.join(t.root, `log-${Math.random().toString(36).slice(2)}.jsonl`);
    const log = new WriteLog(file);
    records.forEach((r, n) => log.append({ writer: 'w1', n, startedAt: n, at: n, attempts: 1, ...r }));
    log.close();
    return file;
  }

  const check = (log: string) => checkWrites({ dataRoot: t.root, catalog: t.env.TASKSD_CATALOG, org: 'acme', ns: 'default', logs: [log] });

  it('finds nothing wrong in an honest log', async () => {
    const a = await write('k1', 'v1');
    const b = await write('k2', 'v2');
    const result = await check(logOf([
      { id: 'k1', value: 'v1', ok: true, seq: a },
      { id: 'k2', value: 'v2', ok: true, seq: b },
      { id: 'k3', value: 'v3', ok: false, reason: 'locked' },
    ]));
    assert.deepEqual({ ...result, problems: result.problems.length }, { acked: 2, refused: 1, lost: 0, phantom: 0, owner: 'node-a', problems: 0 });
  });

  it('reports one lost and one phantom write, naming each', async () => {
    const a = await write('k1', 'v1');
    const applied = await write('k2', 'refused-but-applied'); // the writer was told no, yet the shard has it
    const result = await check(logOf([
      { id: 'k1', value: 'v1', ok: true, seq: a },
      { id: 'k3', value: 'acknowledged-but-gone', ok: true, seq: applied + 1 }, // acknowledged, never on the owner
      { id: 'k2', value: 'refused-but-applied', ok: false, reason: 'locked' },
    ]));
    assert.equal(result.lost, 1, result.problems.join('\n'));
    assert.equal(result.phantom, 1, result.problems.join('\n'));
    assert.ok(result.problems.some((p) => /^lost: .*acknowledged-but-gone/.test(p)), result.problems.join('\n'));
    assert.ok(result.problems.some((p) => /^phantom: .*k2/.test(p)), result.problems.join('\n'));
  });
});
