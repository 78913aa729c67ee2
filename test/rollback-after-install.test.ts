// Issue 13, item 5: a move that fails or is cancelled after its copy is installed on
// the destination (`<org>.<ns>.db` there, held by the job) and while the job is
// `replaying` rolls back completely, offline and online: the job is `failed` with the
// cause's type, the source's content and seq are what they were just before the move
// (offline: plus exactly the job's lock and unlock frames, which the contract counts
// as frames), it owns the shard unlocked and writable at the same epoch, the claim is
// gone, and nothing of the job is left on the destination.
//
// How each case reaches "installed, replaying" without sleeps: a fault point (faults/)
// holds the step that runs right after the install — offline `replay:before` (status
// `replaying`), online `catchUp:before` (cancel) or `checkpointAndCopy:after` (failure).
// A held step heartbeats, so it hears a cancel, and it goes on when the test writes its
// release file.
// - cancel: `migrations.cancel(id)` while the step is held; the workflow's cancel and
//   rollback are the product's own.
// - failure: the destination's installed copy diverges from the source, and the
//   replay's checksum gate (seq, rows, content checksum against the locked source)
//   refuses it: VerificationFailed. The divergence is written straight into the
//   installed file with better-sqlite3 — one row's title changed and the stored
//   content checksum adjusted to match (store/content-sum.js), so the copy is
//   internally consistent yet not the source's; the kind of drift the gate exists for.
//   It is written while the step is held, then the step is released. Online the held
//   step is the copy's `after` point (the catch-up and replay run to the gate, which
//   fails in `replaying`).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { releaseFile, type ActivityTestHooks } from '../faults';
import type { MigrationClient } from '../client';
import { ErrorType } from '../common/errors';
import type { Job } from '../common/job';
import { adjust } from '../store/content-sum';
import { defaultNodeDir, shardFile } from '../store/layout';
import { inWriteTransaction, openShardFile, readState } from '../store/shard-file';
import { eventually } from './support/eventually';
import { filesOn, makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';
import { imageOf } from './support/shard-image';

const ORG = 'acme';
const NS = 'default';
const ROWS = 1500;
const SHARD_FILE = `${ORG}.${NS}.db`;

describe('rollback after the copy is installed (issue 13, item 5)', function () {
  let t: TestCluster;
  beforeEach(async () => {
    t = await makeCluster();
    await seedShard(t, ORG, NS, 'node-a', ROWS, 128);
  });
  afterEach(() => t.close());

  const fileOn = (node: string) => shardFile(defaultNodeDir(t.root, node), ORG, NS);

  /** The copy on node-b is installed (its final file exists, held by the job) and the job reports `status`. */
  async function installed(migrations: MigrationClient, id: string, status: string): Promise<void> {
    await eventually(`${SHARD_FILE} installed on node-b, held by ${id}, job ${status}`, async () => {
      if (!fs.existsSync(fileOn('node-b'))) return undefined;
      const db = openShardFile(fileOn('node-b'), { readonly: true });
      let holder: string | null;
      try {
        holder = readState(db).lockedBy;
      } finally {
        db.close();
      }
      return holder === id && (await migrations.get(id))?.status === status ? true : undefined;
    });
  }

  /** Changes one row of the installed copy and keeps its stored checksum consistent with it: same seq and rows, other content. */
  function divergeDestination(): void {
    const db = openShardFile(fileOn('node-b'));
    try {
      inWriteTransaction(db, () => {
        const row = db.prepare('SELECT id, title, body FROM tasks WHERE id = ?').get('t00007') as { id: string; title: string; body: Buffer | null };
        const { contentSum } = readState(db);
        const title = 'diverged on the destination';
        const sum = adjust(adjust(contentSum, -1, row.id, row.title, row.body), 1, row.id, title, row.body);
        db.prepare('UPDATE tasks SET title = ? WHERE id = ?').run(title, row.id);
        db.prepare('UPDATE shard SET content_sum = ? WHERE singleton = 1').run(sum);
      });
    } finally {
      db.close();
    }
  }

  const cases: Array<{
    mode: 'offline' | 'online';
    cause: 'failure' | 'cancel';
    hooks: ActivityTestHooks;
    /** The status the job shows while the copy is installed and the step after it is parked. */
    parkedIn: string;
  }> = [
    { mode: 'offline', cause: 'cancel', hooks: { hold: { activity: 'replay', when: 'before' } }, parkedIn: 'replaying' },
    { mode: 'online', cause: 'cancel', hooks: { hold: { activity: 'catchUp', when: 'before' } }, parkedIn: 'replaying' },
    { mode: 'offline', cause: 'failure', hooks: { hold: { activity: 'replay', when: 'before' } }, parkedIn: 'replaying' },
    { mode: 'online', cause: 'failure', hooks: { hold: { activity: 'checkpointAndCopy', when: 'after' } }, parkedIn: 'copying' },
  ];

  for (const { mode, cause, hooks, parkedIn } of cases) {
    it(`${mode}, ${cause} after the install: rolled back, the source unchanged, owning and writable, nothing on node-b`, async () => {
      const releaseDir = fs.mkdtempSync(path.join(suite().scratch, 'release-'));
      const before = imageOf(fileOn('node-a'));
      const catalogBefore = await t.cluster.catalog.shard(ORG, NS);
      assert.equal(catalogBefore.owner, 'node-a');

      const job: Job = await withWorker(
        t,
        async (migrations) => {
          const id = await migrations.start({ org: ORG, ns: NS, to: 'node-b', mode });
          await installed(migrations, id, parkedIn);
          if (mode === 'offline') assert.equal(imageOf(fileOn('node-a')).state.lockedBy, id, 'offline: the source is locked by then');
          if (cause === 'cancel') await migrations.cancel(id);
          else {
            divergeDestination();
            fs.writeFileSync(releaseFile(releaseDir, `${hooks.hold!.activity}:${hooks.hold!.when}`), '');
          }
          return migrations.result(id);
        },
        { ...hooks, releaseDir },
      );

      assert.equal(job.status, 'failed', `job ${job.id} should have failed: ${JSON.stringify(job)}`);
      if (cause === 'cancel') {
        assert.equal(job.errorType, ErrorType.Cancelled, job.error);
        assert.equal(job.error, 'cancelled by operator; the move was rolled back');
      } else {
        assert.equal(job.errorType, ErrorType.VerificationFailed, job.error);
        assert.match(job.error ?? '', /does not match the source: content checksum sum128:[0-9a-f]{32} != sum128:[0-9a-f]{32}$/);
      }

      // The source against its image from just before the move. Offline the job's lock
      // and unlock are two frames of the shard's seq (docs/CONTRACT.md: ops put, delete,
      // lock, unlock); nothing else may differ. An online move cancelled in its catch-up
      // never locked the source: equal seq.
      const after = imageOf(fileOn('node-a'));
      // Online the failure comes at the replay, after the lock; the cancel during the catch-up, before it.
      const lockFrames = mode === 'offline' || cause === 'failure' ? 2 : 0;
      assert.deepEqual(after.state, { ...before.state, seq: before.state.seq + lockFrames }, 'state row: same content sum, rows, epoch; unlocked, live');
      assert.deepEqual(after.fingerprint, { ...before.fingerprint, seq: before.fingerprint.seq + lockFrames }, 'stored fingerprint');
      assert.deepEqual(after.recomputed, before.recomputed, 'recomputed content checksum');
      assert.deepEqual(after.recomputed, { sum: before.state.contentSum, rows: ROWS }, 'the rows add up to the stored checksum');
      assert.equal(after.tasks, before.tasks, 'every row byte-for-byte');
      assert.equal(after.changes, before.changes, 'the change log');

      const put = await t.replicator.propose({ op: 'put', org: ORG, ns: NS, task: { id: 'after-rollback', title: 'written on node-a' } });
      assert.equal(put.seq, after.state.seq + 1);
      assert.equal((await t.cluster.getTask(ORG, NS, 'after-rollback'))?.title, 'written on node-a');

      const catalogAfter = await t.cluster.catalog.shard(ORG, NS);
      assert.deepEqual([catalogAfter.owner, catalogAfter.jobId, catalogAfter.epoch], ['node-a', null, catalogBefore.epoch], 'owner, claim, epoch');
      assert.deepEqual(filesOn(t, 'node-b'), [], 'no .db, no .incoming, no -wal/-shm on node-b');
      assert.deepEqual(filesOn(t, 'node-a').filter((f) => !/-(wal|shm)$/.test(f)), [SHARD_FILE]);
    });
  }
});
