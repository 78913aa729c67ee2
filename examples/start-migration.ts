// Starts a shard migration from a plain Node script through the programmatic client
// and follows it to the end. It connects like every tasksd process: TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE or a temporal.toml profile (TLS, API key), and TASKSD_TASK_QUEUE
// when the workers serve another task queue.
//
//   npx tsx examples/start-migration.ts acme default node-b [offline|online]
//
// Progress goes to stderr and the final Job, as JSON, to stdout (so `| jq` works);
// the exit code is 0 only when the shard moved.
import { MigrationClient, type MigrationMode } from '../client';

async function run(): Promise<number> {
  const [org, ns, to, mode = 'offline'] = process.argv.slice(2);
  if (!org || !ns || !to) {
    console.error('usage: start-migration.ts ORG NAMESPACE TO-NODE [offline|online]');
    return 2;
  }
  const migrations = await MigrationClient.connect();
  try {
    // Refused at once (with the running job's id) if the shard is already moving.
    const started = await migrations.startJob({ org, ns, to, mode: mode as MigrationMode });
    console.error(`started ${started.id}: ${started.org}/${started.ns} ${started.from} → ${started.to} (${started.mode})`);
    for await (const snap of migrations.watch(started.id)) {
      const copied = snap.progress ? ` ${snap.progress.bytesCopied}/${snap.progress.totalBytes} bytes` : '';
      console.error(`${snap.status}${copied}`);
    }
    const job = await migrations.result(started.id);
    console.log(JSON.stringify(job, null, 2));
    return job.status === 'released' ? 0 : 1;
  } finally {
    await migrations.close();
  }
}

run()
  .then((code) => process.exit(code))
  .catch((err) => {
    console.error(`start-migration: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  });
