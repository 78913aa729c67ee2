// `tasksd` when no worker answers: subprocesses against the suite's Temporal server
// with no worker polling the test's task queue. Each command says so in one line
// within seconds (exit 69) instead of hanging or crashing; `migrate` without --wait
// queues the job and warns. And `cancel` of a job that already ended says how it ended.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { temporal as proto } from '@temporalio/proto';
import type { Job } from '../common/job';
import { ErrorType } from '../common/errors';
import { clusterTaskQueue } from '../common/names';
import { PROJECT_ROOT } from '../temporal/cli-binary';
import { livePollers } from '../temporal/pollers';
import { eventually, uniqueId } from './support/eventually';
import { makeCluster, seedShard, serveCluster, whileServing, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';
import { run, type Run } from './support/run';

const BIN = path.join(PROJECT_ROOT, 'bin', 'tasksd.js');
/** "Within a few seconds": a command takes about 1 s to start and allows a starting worker 2 s to poll. */
const FEW_SECONDS_MS = 10_000;

interface TimedRun extends Run {
  ms: number;
}

describe('tasksd with no worker polling its task queue', () => {
  let t: TestCluster;
  let queue: string;
  // An org of its own per test: jobs of other tests on the shared server never match.
  let org: string;
  let move: string[];
  beforeEach(async () => {
    t = await makeCluster();
    queue = `no-worker-${randomUUID()}`;
    org = uniqueId('nw');
    move = ['--org', org, '--ns', 'default', '--to', 'node-b'];
    await seedShard(t, org, 'default', 'node-a', 20);
  });
  afterEach(() => t.close());

  async function tasksd(args: string[], taskQueue = queue, timeoutMs = 60_000): Promise<TimedRun> {
    const env = { ...t.env, TEMPORAL_ADDRESS: suite().server.address, TASKSD_TASK_QUEUE: taskQueue };
    const started = Date.now();
    const result = await run(process.execPath, [BIN, ...args], { env, timeoutMs });
    return { ...result, ms: Date.now() - started };
  }

  /** Where the CLI starts this cluster's jobs: the cluster's own task queue. */
  const jobQueue = () => clusterTaskQueue(queue, t.cluster.catalog.clusterId);

  /** The line every no-worker message starts with, naming the queue and the server. */
  function noWorker(): string {
    return `no worker polls task queue "${jobQueue()}" \\(namespace default at ${suite().server.address.replace(/\./g, '\\.')}\\)`;
  }

  /** Exit status, one line on stderr (so no stack trace), and an answer within seconds. */
  function assertSaysNoWorker(r: TimedRun, consequence: RegExp): void {
    assert.equal(r.code, 69, `exit status (stderr: ${r.stderr})`);
    assert.match(r.stderr, /^tasksd: [^\n]+\n$/, 'exactly one line on stderr');
    assert.match(r.stderr, new RegExp(`^tasksd: ${noWorker()}: ${consequence.source}\\n$`));
    assert.ok(r.ms < FEW_SECONDS_MS, `answered in ${r.ms} ms`);
  }

  /** Serves this cluster on the test's queue until `fn` settles. */
  async function withWorkersOnQueue<T>(fn: () => Promise<T>): Promise<T> {
    return whileServing(await serveCluster(t, queue), fn);
  }

  function finalJob(id: string): Promise<Job> {
    return suite().client.workflow.getHandle(id).result() as Promise<Job>;
  }

  it('migrate without --wait returns the queued job at once with a warning; a worker that starts later runs it', async () => {
    const r = await tasksd(['migrate', ...move, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms < FEW_SECONDS_MS, `returned in ${r.ms} ms, not after the 15 s wait for a claim`);
    const job = JSON.parse(r.stdout) as Job;
    assert.deepEqual([job.org, job.ns, job.to, job.status, job.from], [org, 'default', 'node-b', 'pending', '']);
    assert.match(r.stderr, new RegExp(`^tasksd: warning: ${noWorker()}: job ${job.id} is queued and starts when one does; start one with "npm start"\\n$`));

    const description = await suite().client.workflow.getHandle(job.id).describe();
    assert.deepEqual([description.status.name, description.taskQueue], ['RUNNING', jobQueue()]);
    assert.equal((await t.cluster.listShards())[0].owner, 'node-a', 'nothing moved without a worker');

    const final = await withWorkersOnQueue(() => finalJob(job.id));
    assert.equal(final.status, 'released', final.error);
    assert.equal((await t.cluster.listShards())[0].owner, 'node-b');
  });

  it('migrate --wait starts nothing; job, watch and cancel of a queued job say so within seconds; the cancel holds', async () => {
    const waited = await tasksd(['migrate', ...move, '--wait']);
    assertSaysNoWorker(waited, /nothing was started; start one with "npm start", or leave out --wait to queue the job/);
    assert.equal(waited.stdout, '');

    const queued = await tasksd(['migrate', ...move, '--json']);
    assert.equal(queued.code, 0, queued.stderr);
    const { id } = JSON.parse(queued.stdout) as Job;
    // Only the queued job exists: --wait started none.
    const listed = await eventually('the queued job in visibility', async () => {
      const jobs = await tasksd(['jobs', '--org', org, '--json']);
      const parsed = JSON.parse(jobs.stdout) as Job[];
      return parsed.length > 0 ? parsed : undefined;
    });
    assert.deepEqual(listed.map((j) => j.id), [id]);

    const [shown, watched, cancelled] = await Promise.all([
      tasksd(['job', id]),
      tasksd(['watch', id]),
      tasksd(['cancel', id]),
    ]);
    const waits = new RegExp(`job ${id} \\(pending\\) waits for one; start one with "npm start"`);
    assertSaysNoWorker(shown, waits);
    assert.match(shown.stdout, /^status: +pending$/m, 'job still prints the Job');
    assertSaysNoWorker(watched, waits);
    assert.equal(watched.stdout, 'pending\n');
    assertSaysNoWorker(cancelled, new RegExp(`the cancel of job ${id} is recorded and rolls it back once one runs; start one with "npm start"`));
    assert.match(cancelled.stdout, new RegExp(`^cancel requested for job ${id}`));
    const description = await suite().client.workflow.getHandle(id).describe();
    assert.equal(description.raw.workflowExtendedInfo?.cancelRequested, true, 'the cancel is recorded on the server');

    // The recorded cancel is what the job does once a worker runs it: nothing moves.
    const final = await withWorkersOnQueue(() => finalJob(id));
    assert.equal(final.status, 'failed');
    const [shard] = (await t.cluster.listShards());
    assert.deepEqual([shard.owner, shard.lockedBy], ['node-a', null]);
  });

  it('a worker that polls but never answers: migrate returns the pending job and exits cleanly', async () => {
    // A poll that takes the job's first task and never completes it, like a hung worker.
    const abort = new AbortController();
    const { connection, client } = suite();
    const stuck = connection
      .withAbortSignal(abort.signal, () =>
        connection.withDeadline(Date.now() + 120_000, () =>
          client.workflowService.pollWorkflowTaskQueue({
            namespace: 'default',
            taskQueue: { name: jobQueue(), kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
            identity: 'stuck-worker',
          }),
        ),
      )
      .catch(() => undefined);
    try {
      await eventually('the stuck poller to be listed', async () => ((await livePollers(suite().client, jobQueue())).includes('stuck-worker') ? true : undefined));
      const r = await tasksd(['migrate', ...move, '--json'], queue, 90_000);
      // Before, a request left pending at exit crashed the CLI ~30 s in ("Channel has been shut down").
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const job = JSON.parse(r.stdout) as Job;
      assert.equal(job.status, 'pending');
      assert.ok(r.ms < 30_000, `exited in ${r.ms} ms`);
    } finally {
      abort.abort();
      await stuck;
    }
  });

  it('cancel of a job that already ended says how: released, failed with its error, or cancelled', async () => {
    await seedShard(t, org, 'big', 'node-a', 4000, 1024);
    await withWorker(
      t,
      async (m, workerQueue) => {
        const released = await tasksd(['migrate', ...move, '--wait', '--json'], workerQueue);
        assert.equal(released.code, 0, released.stderr);
        const releasedJob = JSON.parse(released.stdout) as Job;
        assert.equal(releasedJob.status, 'released');

        const failedId = `migrate-${org}.default-${randomUUID()}`;
        await assert.rejects(m.startJob({ org, ns: 'default', to: 'node-x' }, { jobId: failedId }), { type: ErrorType.UnknownNode });

        const running = await tasksd(['migrate', '--org', org, '--ns', 'big', '--to', 'node-b', '--json'], workerQueue);
        const cancelledId = (JSON.parse(running.stdout) as Job).id;
        const requested = await tasksd(['cancel', cancelledId], workerQueue);
        assert.equal(requested.code, 0, requested.stderr);
        assert.equal((await m.result(cancelledId)).errorType, ErrorType.Cancelled);

        const [again, againJson, afterFailure, afterCancel] = await Promise.all([
          tasksd(['cancel', releasedJob.id], workerQueue),
          tasksd(['cancel', releasedJob.id, '--json'], workerQueue),
          tasksd(['cancel', failedId], workerQueue),
          tasksd(['cancel', cancelledId], workerQueue),
        ]);
        const ended = (id: string) => `^tasksd: nothing to cancel: job ${id} already ended at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: `;
        for (const r of [again, againJson, afterFailure, afterCancel]) {
          assert.equal(r.code, 1, r.stderr);
          assert.match(r.stderr, /^tasksd: [^\n]+\n$/, 'exactly one line on stderr');
        }
        assert.match(
          again.stderr,
          new RegExp(`${ended(releasedJob.id)}released ${org}/default node-a -> node-b, .*; to undo it, move it back with "tasksd migrate --org ${org} --ns default --to node-a"$`, 'm'),
        );
        assert.equal(again.stdout, '');
        const json = JSON.parse(againJson.stdout) as { cancelRequested: boolean; job: Job };
        assert.deepEqual([json.cancelRequested, json.job.id, json.job.status], [false, releasedJob.id, 'released']);
        assert.match(afterFailure.stderr, new RegExp(`${ended(failedId)}failed: unknown node node-x`));
        assert.match(afterCancel.stderr, new RegExp(`${ended(cancelledId)}cancelled \\(cancelled by operator; the move was rolled back\\)$`, 'm'));
      },
      // A copy of about 16 s: the cancel lands well inside it.
      { copyBytesPerSecond: 256 * 1024 },
    );
    // Nothing was undone by the late cancels: the released shard stays moved, the cancelled one home.
    const owners = Object.fromEntries((await t.cluster.listShards()).map((s) => [s.ns, [s.owner, s.lockedBy]]));
    assert.deepEqual(owners, { default: ['node-b', null], big: ['node-a', null] });
  });
});
