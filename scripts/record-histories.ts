// Records real migrateShard histories into test/histories/ for the determinism guard
// (test/replay.test.ts): a full offline run, an online run, a crashed-and-resumed
// run, a rolled-back run, a cancelled run, a repair after a terminated job, and a
// fleet drain (fleetMove and its migrateShard children). Once
// there are deployed jobs, re-record only when a workflow change is released on
// purpose, keeping the old files (in-flight jobs still replay them); before 1.0 the
// old files are replaced.
//
//   npx tsx scripts/record-histories.ts [--suffix v2]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { MigrationClient } from '../client';
import { FleetClient } from '../fleet/client';
import { clusterTaskQueue, REPAIR_WORKFLOW_TYPE } from '../common/names';
import { Cluster } from '../store/cluster';
import { LocalReplicator } from '../store/local-replicator';
import { temporalCliPath } from '../temporal/cli-binary';
import { startDevServer } from '../temporal/dev-server';
import { startWorkerProcess, waitForOutput } from '../test/support/worker-process';

const OUT = path.join(__dirname, '..', 'test', 'histories');

async function main(): Promise<void> {
  const suffix = process.argv.includes('--suffix') ? `-${process.argv[process.argv.indexOf('--suffix') + 1]}` : '';
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tasksd-record-'));
  const server = await startDevServer({ dbFile: path.join(scratch, 'temporal.db'), headless: true });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const cluster = await Cluster.open(path.join(scratch, 'data'));
  const replicator = new LocalReplicator(cluster);
  const taskQueue = 'record-histories';
  const migrations = new MigrationClient(client, taskQueue, undefined, cluster.catalog.clusterId);
  const worker = (extra: NodeJS.ProcessEnv = {}) =>
    startWorkerProcess({ address: server.address, dataRoot: cluster.dataRoot, taskQueue, extra });
  try {
    await cluster.addNode('node-a');
    await cluster.addNode('node-b');
    let shardNo = 0;
    const newShard = async (rows: number) => {
      const ns = `ns${shardNo++}`;
      await cluster.createShard('acme', ns, 'node-a');
      const tasks = Array.from({ length: rows }, (_, i) => ({ id: `t${i}`, title: `task ${i}`, body: Buffer.alloc(1024, i % 251) }));
      await replicator.putMany('acme', ns, tasks);
      return ns;
    };
    // The Temporal CLI writes the canonical JSON form that historyFromJSON reads back.
    const save = async (name: string, id: string) => {
      const json = execFileSync(temporalCliPath(), ['workflow', 'show', '--workflow-id', id, '--address', server.address, '--output', 'json'], {
        encoding: 'utf8',
      });
      fs.mkdirSync(OUT, { recursive: true });
      fs.writeFileSync(path.join(OUT, `${name}${suffix}.json`), json);
      console.log(`recorded ${name}${suffix}.json (${JSON.parse(json).events.length} events)`);
    };

    let w = await worker();
    for (const mode of ['offline', 'online'] as const) {
      const job = await migrations.migrate({ org: 'acme', ns: await newShard(200), to: 'node-b', mode });
      await save(`released-${mode}`, job.id);
    }
    await w.stop();

    w = await worker({ TASKSD_FAULTS: '1', TASKSD_TEST_HOLD: 'lock:after' });
    const crashed = await migrations.start({ org: 'acme', ns: await newShard(200), to: 'node-b' });
    await waitForOutput(w, 'fault point lock:after: holding');
    await w.kill();
    w = await worker();
    await migrations.result(crashed);
    await save('crashed-and-resumed', crashed);
    await w.stop();

    w = await worker({ TASKSD_FAULTS: '1', TASKSD_TEST_CORRUPT_COPY: '1' });
    await save('rolled-back', (await migrations.migrate({ org: 'acme', ns: await newShard(200), to: 'node-b' })).id);
    await w.stop();

    w = await worker({ TASKSD_FAULTS: '1', TASKSD_TEST_COPY_BYTES_PER_SEC: String(64 * 1024) });
    const cancelled = await migrations.start({ org: 'acme', ns: await newShard(200), to: 'node-b' });
    for await (const snap of migrations.watch(cancelled, 100)) {
      if ((snap.progress?.bytesCopied ?? 0) > 0) break;
    }
    await migrations.cancel(cancelled);
    await migrations.result(cancelled);
    await save('cancelled', cancelled);
    await w.stop();

    w = await worker({ TASKSD_FAULTS: '1', TASKSD_TEST_HOLD: 'checkpointAndCopy:before' });
    const terminated = await migrations.start({ org: 'acme', ns: await newShard(200), to: 'node-b' });
    await waitForOutput(w, 'fault point checkpointAndCopy:before: holding');
    await client.workflow.getHandle(terminated).terminate('recording a repair');
    const repairId = `repair-${terminated}`;
    await client.workflow.execute(REPAIR_WORKFLOW_TYPE, {
      workflowId: repairId,
      taskQueue: clusterTaskQueue(taskQueue, cluster.catalog.clusterId),
      args: [{ cluster: cluster.catalog.clusterId, graceMs: 1000 }],
    });
    await save('repaired', repairId);
    await w.stop();

    // Every shard left on node-a (the rolled-back, cancelled and repaired ones, and two more) drained to node-b.
    w = await worker();
    await newShard(50);
    await newShard(50);
    const fleet = new FleetClient(migrations);
    // The job is named like its file: its children's ids derive from its own, and the replay test replays it under that name.
    const drain = await fleet.start({ kind: 'drain', node: 'node-a', concurrency: 2 }, { jobId: `fleet-drained${suffix}` });
    const drained = await fleet.result(drain.id);
    if (drained.status !== 'finished') throw new Error(`the recorded drain ended ${drained.status}: ${JSON.stringify(drained)}`);
    await save('fleet-drained', drain.id);
    await w.stop();
  } finally {
    await cluster.close();
    await connection.close();
    await server.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
