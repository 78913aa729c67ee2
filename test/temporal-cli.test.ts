// The Temporal CLI as an operator's surface: the real `temporal` binary starts a
// migration with the spec's input, queries its status and finds it with visibility
// queries; MigrationClient then shows that job like one it started itself.
import { strict as assert } from 'node:assert';
import type { Job } from '../client';
import { eventually, uniqueId } from './support/eventually';
import { filesOn, makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { searchAttribute, temporalCli, temporalCliJson, type ListedWorkflow } from './support/temporal-cli';

describe('Temporal CLI', () => {
  let t: TestCluster;
  let org: string;
  beforeEach(async () => {
    t = await makeCluster();
    org = uniqueId('cli'); // visibility is shared by every test on the server
  });
  afterEach(() => t?.close());

  async function start(taskQueue: string, input: object): Promise<string> {
    const started = await temporalCliJson<{ workflowId: string; type: string }>(
      'workflow', 'start', '--type', 'migrateShard', '--task-queue', taskQueue, '--input', JSON.stringify(input),
    );
    assert.equal(started.type, 'migrateShard');
    return started.workflowId;
  }

  const listIds = async (query: string) =>
    (await temporalCliJson<ListedWorkflow[]>('workflow', 'list', '--query', query)).map((row) => row.execution.workflowId);

  it('starts a migration, queries its status, lists it by status, org, namespace and node, and cancels it', async () => {
    await seedShard(t, org, 'default', 'node-a', 1500, 2048);
    await withWorker(
      t,
      async (migrations, taskQueue) => {
        const id = await start(taskQueue, { org, ns: 'default', to: 'node-b' });

        const queried = await eventually('the status query to report copying', async () => {
          const { queryResult } = await temporalCliJson<{ queryResult: Job[] }>('workflow', 'query', '--workflow-id', id, '--name', 'status');
          return queryResult[0].status === 'copying' ? queryResult[0] : undefined;
        });
        assert.deepEqual(
          [queried.id, queried.org, queried.ns, queried.from, queried.to, queried.mode],
          [id, org, 'default', 'node-a', 'node-b', 'offline'],
        );

        // Visibility lags the workflow by a moment: wait for the row, then check every filter.
        const copying = await eventually('visibility to list the job as copying', async () => {
          const rows = await temporalCliJson<ListedWorkflow[]>('workflow', 'list', '--query', "MigrationStatus='copying'");
          return rows.some((row) => row.execution.workflowId === id) ? rows : undefined;
        });
        assert.ok(copying.every((row) => searchAttribute(row, 'MigrationStatus') === 'copying'));
        const mine = copying.find((row) => row.execution.workflowId === id)!;
        assert.deepEqual(
          ['MigrationOrg', 'MigrationNs', 'MigrationFrom', 'MigrationTo'].map((name) => searchAttribute(mine, name)),
          [org, 'default', 'node-a', 'node-b'],
        );
        assert.deepEqual(await listIds(`MigrationOrg='${org}'`), [id]);
        assert.deepEqual(await listIds(`MigrationOrg='${org}' AND MigrationNs='default'`), [id]);
        assert.deepEqual(await listIds(`MigrationOrg='${org}' AND MigrationNs='other'`), []);
        assert.deepEqual(await listIds(`MigrationOrg='${org}' AND (MigrationFrom='node-a' OR MigrationTo='node-a')`), [id]);
        assert.deepEqual(await listIds(`MigrationOrg='${org}' AND MigrationStatus='released'`), []);

        // No memo and no start-time search attributes: the client still shows the job in full.
        const [listed] = await migrations.list({ org, status: 'copying' });
        assert.deepEqual(
          [listed.id, listed.status, listed.from, listed.to, listed.mode],
          [id, 'copying', 'node-a', 'node-b', 'offline'],
        );
        const fetched = await migrations.get(id);
        assert.deepEqual([fetched?.status, fetched?.from, fetched?.to], ['copying', 'node-a', 'node-b']);

        await temporalCli('workflow', 'cancel', '--workflow-id', id);
        const final = await migrations.result(id);
        assert.equal(final.status, 'failed');
        assert.match(final.error ?? '', /cancelled by operator/);
      },
      { copyBytesPerSecond: 256 * 1024 }, // ~14 s of copying: the job stays listed as copying
    );
    const [shard] = (await t.cluster.listShards());
    assert.deepEqual([shard.owner, shard.lockedBy], ['node-a', null]);
    assert.deepEqual(filesOn(t, 'node-b'), []);
  });

  it('a job started with "mode":"online" reads back as online from result, get and list', async () => {
    await seedShard(t, org, 'default', 'node-a', 200);
    await withWorker(t, async (migrations, taskQueue) => {
      const id = await start(taskQueue, { org, ns: 'default', to: 'node-b', mode: 'online' });
      const { status, closeEvent } = await temporalCliJson<{
        status: string;
        closeEvent: { workflowExecutionCompletedEventAttributes: { result: Job[] } };
      }>('workflow', 'result', '--workflow-id', id);
      assert.equal(status, 'COMPLETED');
      const [result] = closeEvent.workflowExecutionCompletedEventAttributes.result;
      assert.deepEqual([result.status, result.mode, result.from, result.to], ['released', 'online', 'node-a', 'node-b']);

      assert.deepEqual(await migrations.get(id), result);
      const listed = await eventually('visibility to show the job released', async () => {
        const [job] = await migrations.list({ org });
        return job?.status === 'released' ? job : undefined;
      });
      const pick = (job: Job) => [job.id, job.org, job.ns, job.from, job.to, job.status, job.mode, job.bytes, job.pauseMs];
      assert.deepEqual(pick(listed), pick(result));
    });
    assert.equal((await t.cluster.listShards())[0].owner, 'node-b');
  });
});
