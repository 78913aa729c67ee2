// Two starts of one shard at the same instant, from the two surfaces that can start a
// job (the client and the raw Temporal CLI): exactly one claims the shard, the other
// is refused naming the job that holds it (docs/CONTRACT.md invariant 6). Twenty rounds.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { Job } from '../client';
import { ErrorType } from '../common/errors';
import { makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';
import { temporalCli } from './support/temporal-cli';

const ROUNDS = 20;

describe('two starts of one shard at the same instant', function () {
  this.timeout(300_000);
  let t: TestCluster;
  beforeEach(async () => (t = await makeCluster()));
  afterEach(() => t.close());

  it(`exactly one claims it, the other is refused naming it (${ROUNDS} rounds, client and Temporal CLI)`, async () => {
    for (let round = 0; round < ROUNDS; round++) await seedShard(t, 'race', `r${round}`, 'node-a', 3);
    await withWorker(t, async (migrations, taskQueue) => {
      for (let round = 0; round < ROUNDS; round++) {
        const ns = `r${round}`;
        const cliJob = `race-cli-${randomUUID()}`;
        // The same instant: both requests are in flight before either is answered.
        const [viaClient] = await Promise.allSettled([
          migrations.start({ org: 'race', ns, to: 'node-b' }),
          temporalCli('workflow', 'start', '--type', 'migrateShard', '--task-queue', taskQueue, '--workflow-id', cliJob,
            '--input', JSON.stringify({ org: 'race', ns, to: 'node-b' })),
        ]);
        const cliFinal = (await suite().client.workflow.getHandle(cliJob).result()) as Job;
        if (viaClient.status === 'fulfilled') {
          const clientFinal = await migrations.result(viaClient.value);
          assert.equal(clientFinal.status, 'released', `round ${round}: the client's job holds the shard`);
          assert.deepEqual([cliFinal.status, cliFinal.errorType], ['failed', ErrorType.ShardBusy], `round ${round}: ${cliFinal.error}`);
          assert.match(cliFinal.error ?? '', new RegExp(`already being migrated by job ${viaClient.value}`), `round ${round}`);
        } else {
          assert.equal(cliFinal.status, 'released', `round ${round}: the CLI's job holds the shard (${cliFinal.error})`);
          const refusal = viaClient.reason as Error & { type?: string };
          assert.equal(refusal.type, ErrorType.ShardBusy, `round ${round}: ${refusal.message}`);
          assert.match(refusal.message, new RegExp(`already being migrated by job ${cliJob}`), `round ${round}`);
        }
        const shard = await t.cluster.catalog.shard('race', ns);
        assert.deepEqual([shard.owner, shard.jobId, shard.epoch], ['node-b', null, 2], `round ${round}: moved exactly once`);
      }
    });
  });
});
