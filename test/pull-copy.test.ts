// A move's copy across a socket: a destination pulls the job's pinned snapshot from a
// real source agent. Equal bytes and digests, resume after a cut stream and across a
// source restart, an online snapshot frozen under writes, a changed snapshot starting
// over, and the rate cap.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../common/errors';
import { flipOneByte } from '../faults';
import { openShardFile, readState } from '../store/shard-file';
import { inspectFile } from '../store/sqlite-thread';
import { storedFingerprint } from '../store/verify';
import { pullSnapshot, type PullProgress } from '../transport/pull-copy';
import type { ShardTransport } from '../transport/transport';
import { makeCluster, seedShard, type TestCluster } from './support/fixtures';
import { startAgent, type TestAgent } from './support/agents';

const MiB = 1024 * 1024;
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The transport, recording the offset of every stream it opens. */
function recording(inner: ShardTransport, offsets: number[]): ShardTransport {
  return Object.assign(Object.create(inner) as ShardTransport, {
    readFrom: (ref: Parameters<ShardTransport['readFrom']>[0], id: string, offset: number, signal?: AbortSignal) => {
      offsets.push(offset);
      return inner.readFrom(ref, id, offset, signal);
    },
  });
}

describe('pulling a snapshot from a source agent', () => {
  let t: TestCluster;
  let source: TestAgent;
  let incoming: string;
  let sourceFile: string;
  const ref = { org: 'acme', ns: 'default', jobId: 'job-1' };

  /** Puts into acme/default one after another until stopped; `after(n)` resolves once n have landed. */
  function startWriter() {
    let writes = 0;
    let stopping = false;
    const waiting: { n: number; resolve: () => void }[] = [];
    const running = (async () => {
      while (!stopping) {
        await t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id: `w${writes}`, title: 'during', body: Buffer.alloc(2000, 1) } });
        writes++;
        for (const w of waiting.filter((w) => writes >= w.n)) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve();
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    return {
      count: () => writes,
      after: (n: number) => (writes >= n ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ n, resolve }))),
      stop: async () => {
        stopping = true;
        await running;
      },
    };
  }

  beforeEach(async () => {
    t = await makeCluster();
    await seedShard(t, 'acme', 'default', 'node-a', 1000, 4000); // ~4 MiB
    source = await startAgent(t, 'node-a');
    sourceFile = await t.cluster.fileOn('node-a', 'acme', 'default');
    incoming = `${await t.cluster.fileOn('node-b', 'acme', 'default')}.incoming`;
  });
  afterEach(async () => {
    await source.close();
    await t.close();
  });

  it('an offline copy equals the locked source, byte for byte and by digest', async () => {
    await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-1' });
    const result = await pullSnapshot({ transport: source.client, ref, mode: 'offline', incomingPath: incoming });
    assert.ok(result.bytes > 3.5 * MiB);
    assert.equal(result.bytes, fs.statSync(sourceFile).size);
    assert.ok(fs.readFileSync(incoming).equals(fs.readFileSync(sourceFile)));
    assert.equal(result.sha256, sha256(sourceFile));
    assert.equal(await source.client.digest(ref, result.snapshot.snapshotId), result.sha256);
    assert.deepEqual({ seq: result.snapshot.seq, rows: result.snapshot.rows }, { seq: 1001, rows: 1000 }, '1000 puts and the lock');
    assert.match(result.snapshot.snapshotId, new RegExp(`^1001-${result.bytes}-[0-9a-f]{8}$`));
    await source.client.unpin(ref);
    assert.equal(source.snapshots.count, 0);
  });

  it('resumes an interrupted stream from its offset, with the same result', async () => {
    await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-1' });
    const offsets: number[] = [];
    const transport = recording(source.client, offsets);
    const abort = new AbortController();
    let last: PullProgress | undefined;
    await assert.rejects(
      pullSnapshot({
        transport,
        ref,
        mode: 'offline',
        incomingPath: incoming,
        signal: abort.signal,
        onProgress: (p) => {
          last = p;
          if (p.bytesCopied >= p.totalBytes / 2) abort.abort(new Error('link cut'));
        },
      }),
      /link cut/,
    );
    assert.ok(last && last.bytesCopied > 0 && last.bytesCopied < last.totalBytes, `stopped mid-copy at ${last?.bytesCopied}`);
    assert.ok(fs.statSync(incoming).size >= last.bytesCopied);
    const lines: string[] = [];
    const result = await pullSnapshot({
      transport,
      ref,
      mode: 'offline',
      incomingPath: incoming,
      resumeFrom: { offset: last.bytesCopied, snapshotId: last.snapshotId },
      log: (line) => lines.push(line),
    });
    assert.deepEqual(offsets, [0, last.bytesCopied], 'the second request starts at the offset');
    assert.deepEqual(lines, []);
    assert.ok(fs.readFileSync(incoming).equals(fs.readFileSync(sourceFile)));
    assert.equal(result.sha256, sha256(sourceFile));
    // A resume offset the partial file does not hold is not trusted.
    fs.truncateSync(incoming, 1000);
    offsets.length = 0;
    await pullSnapshot({ transport, ref, mode: 'offline', incomingPath: incoming, resumeFrom: { offset: 5000, snapshotId: result.snapshot.snapshotId } });
    assert.deepEqual(offsets, [0]);
    assert.ok(fs.readFileSync(incoming).equals(fs.readFileSync(sourceFile)));
  });

  it('resumes across a source agent restart for a locked shard: the fresh pin has the same id', async () => {
    await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-1' });
    const first = await source.client.pin(ref, 'offline');
    const half = Math.floor(first.size / 2);
    const chunks: Buffer[] = [];
    let got = 0;
    for await (const chunk of source.client.readFrom(ref, first.snapshotId, 0)) {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= half) break;
    }
    fs.writeFileSync(incoming, Buffer.concat(chunks));
    const port = Number(new URL(source.url).port);
    await source.close(); // releases every pin
    source = await startAgent(t, 'node-a', { port });
    assert.equal(source.snapshots.count, 0);
    // Reading with the old id before any pin: the agent re-pins and finds the same snapshot.
    const offsets: number[] = [];
    const lines: string[] = [];
    const result = await pullSnapshot({
      transport: recording(source.client, offsets),
      ref,
      mode: 'offline',
      incomingPath: incoming,
      resumeFrom: { offset: got, snapshotId: first.snapshotId },
      log: (line) => lines.push(line),
    });
    assert.equal(result.snapshot.snapshotId, first.snapshotId);
    assert.deepEqual(offsets, [got]);
    assert.deepEqual(lines, []);
    assert.ok(fs.readFileSync(incoming).equals(fs.readFileSync(sourceFile)));
  });

  it('an online snapshot stays frozen while a writer keeps writing: the copy is the state at pin time', async () => {
    const pinned = await source.client.pin(ref, 'online');
    const atPin = { seq: pinned.seq, rows: pinned.rows };
    const writer = startWriter();
    try {
      const result = await pullSnapshot({ transport: source.client, ref, mode: 'online', incomingPath: incoming, maxBytesPerSecond: 8 * MiB });
      assert.equal(result.snapshot.snapshotId, pinned.snapshotId);
      assert.ok(writer.count() > 20, `the writer kept writing (${writer.count()} writes)`);
      const copy = openShardFile(incoming, { readonly: true });
      try {
        assert.deepEqual({ seq: storedFingerprint(copy).seq, rows: storedFingerprint(copy).rows }, atPin);
        assert.equal(copy.pragma('quick_check', { simple: true }), 'ok');
      } finally {
        copy.close();
      }
    } finally {
      await writer.stop();
    }
    const live = openShardFile(sourceFile);
    try {
      assert.equal(readState(live).seq, atPin.seq + writer.count(), 'the writes landed on the source');
    } finally {
      live.close();
    }
    // The WAL is checkpointed once the pin goes.
    await source.client.unpin(ref);
    const db = openShardFile(sourceFile);
    try {
      assert.equal((db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0].busy, 0);
    } finally {
      db.close();
    }
  });

  it('answers SnapshotChanged when the pinned snapshot is gone and the shard was written since; the copy starts over', async () => {
    const first = await source.client.pin(ref, 'online');
    const firstBytes: Buffer[] = [];
    for await (const chunk of source.client.readFrom(ref, first.snapshotId, 0)) {
      firstBytes.push(chunk);
      if (firstBytes.length > 3) break;
    }
    fs.writeFileSync(incoming, Buffer.concat(firstBytes));
    await source.client.unpin(ref); // as an agent restart or the idle expiry would
    await t.replicator.propose({ op: 'put', org: 'acme', ns: 'default', task: { id: 'after', title: 'written since' } });
    await assert.rejects(
      (async () => {
        for await (const _ of source.client.readFrom(ref, first.snapshotId, 100)) void _;
      })(),
      (err: unknown) => err instanceof TasksdError && err.type === ErrorType.SnapshotChanged && /start the copy again from byte 0/.test(err.message),
    );
    await assert.rejects(source.client.digest(ref, first.snapshotId), (err: unknown) => err instanceof TasksdError && err.type === ErrorType.SnapshotChanged);
    const lines: string[] = [];
    const offsets: number[] = [];
    const result = await pullSnapshot({
      transport: recording(source.client, offsets),
      ref,
      mode: 'online',
      incomingPath: incoming,
      resumeFrom: { offset: Buffer.concat(firstBytes).length, snapshotId: first.snapshotId },
      log: (line) => lines.push(line),
    });
    assert.notEqual(result.snapshot.snapshotId, first.snapshotId);
    assert.equal(result.snapshot.seq, first.seq + 1);
    assert.deepEqual(offsets, [0]);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /starts over from byte 0: the source now pins snapshot/);
    // An unchanged online shard re-pins to the same id: a resume then goes on.
    await source.client.unpin(ref);
    const again = await source.client.pin(ref, 'online');
    assert.equal(again.snapshotId, result.snapshot.snapshotId);
  });

  it('the source proves exactly the pinned bytes, though writers race the pin and keep writing (not newer WAL frames)', async () => {
    const writer = startWriter();
    try {
      await writer.after(10); // the writer is going before the pin is taken
      const pinned = await source.snapshots.pin('acme', 'default', 'job-1', 'online');
      await writer.after(writer.count() + 20);
      const proof = await source.snapshots.proof('acme', 'default', 'job-1', pinned.snapshotId);
      assert.ok(!proof.damage, `the pinned snapshot is sound: ${JSON.stringify(proof.damage)}`);
      assert.deepEqual(
        { seq: proof.scan.seq, stored: proof.scan.storedRows, counted: proof.scan.rows },
        { seq: pinned.seq, stored: pinned.rows, counted: pinned.rows },
        'the proof read the pinned snapshot',
      );
      // What a fresh connection reads now is newer: the pinned bytes plus the WAL written since.
      const fresh = await inspectFile(sourceFile);
      assert.ok(!fresh.damage && fresh.scan.seq > pinned.seq, `a fresh reader sees seq ${fresh.damage ? '?' : fresh.scan.seq}, past the pinned ${pinned.seq}`);
      assert.ok(fs.statSync(`${sourceFile}-wal`).size > 0, 'the writes went to the WAL');
      // The pin serves the bytes it proved, and they are that snapshot.
      const result = await pullSnapshot({ transport: source.client, ref, mode: 'online', incomingPath: incoming });
      assert.equal(result.snapshot.snapshotId, pinned.snapshotId);
      const copy = openShardFile(incoming, { readonly: true });
      try {
        assert.equal(storedFingerprint(copy).seq, pinned.seq);
      } finally {
        copy.close();
      }
    } finally {
      await writer.stop();
    }
    await source.client.unpin(ref);
  });

  it('a damaged snapshot: the digest answers SourceCorrupt once the proof is in, and the pin serves no more of it', async () => {
    await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-1' });
    const db = openShardFile(sourceFile);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    flipOneByte(sourceFile);
    const corrupt = (err: unknown) =>
      err instanceof TasksdError &&
      err.type === ErrorType.SourceCorrupt &&
      err.message.startsWith(`source shard acme/default at ${sourceFile} on node node-a is damaged: its rows add up to 1000 rows`) &&
      err.message.endsWith('refusing to copy a damaged shard, restore it from a backup first (the move was rolled back: nothing was changed)');
    await assert.rejects(pullSnapshot({ transport: source.client, ref, mode: 'offline', incomingPath: incoming }), corrupt);
    const info = await source.client.pin(ref, 'offline');
    // Proven once per pin: a repeated digest, or a read, gets the same verdict from the same proof.
    const proof = source.snapshots.proof('acme', 'default', 'job-1', info.snapshotId);
    assert.equal(await proof, await source.snapshots.proof('acme', 'default', 'job-1', info.snapshotId));
    await assert.rejects(source.client.digest(ref, info.snapshotId), corrupt);
    await assert.rejects(source.client.digest(ref, info.snapshotId), corrupt);
    await assert.rejects(
      (async () => {
        for await (const chunk of source.client.readFrom(ref, info.snapshotId, 0)) void chunk;
      })(),
      corrupt,
    );
    assert.equal(source.snapshots.count, 1, 'the pin stays until the rollback releases it');
    await source.client.unpin(ref);
  });

  it('releasing a pin, or closing the agent, stops its proof threads mid-check', async () => {
    await seedShard(t, 'acme', 'big', 'node-a', 20_000, 1000); // ~20 MiB: the proof takes a while
    for (const release of ['unpin', 'close'] as const) {
      const agent = await startAgent(t, 'node-a');
      try {
        const info = await agent.snapshots.pin('acme', 'big', 'job-1', 'online');
        const stopped = assert.rejects(
          agent.snapshots.proof('acme', 'big', 'job-1', info.snapshotId),
          /the check of .*acme\.big\.db was stopped: its snapshot was released/,
          release,
        );
        if (release === 'unpin') await agent.snapshots.unpin('acme', 'big', 'job-1');
        else await agent.snapshots.close();
        await stopped;
      } finally {
        await agent.close();
      }
    }
  });

  it('pins leak no file handles: aborted streams, unpins and closing the server release them all', async () => {
    await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-1' });
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    const other = await startAgent(t, 'node-a');
    const info = await other.client.pin(ref, 'offline');
    await other.client.pin({ ...ref, jobId: 'job-2' }, 'online');
    for (let i = 0; i < 5; i++) {
      for await (const chunk of other.client.readFrom(ref, info.snapshotId, i * 1000)) if (chunk.length) break; // the reader goes away mid-stream
    }
    await other.client.unpin(ref);
    await other.close(); // job-2's pin is released by the close
    assert.equal(other.snapshots.count, 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(fds() <= before, `${fds() - before} descriptors left open`);
  });

  it('idle pins expire and release their read transaction', async () => {
    const fast = await startAgent(t, 'node-a', { pins: { idleMs: 200 } });
    try {
      await fast.client.pin(ref, 'online');
      assert.equal(fast.snapshots.count, 1);
      const deadline = Date.now() + 5000;
      while (fast.snapshots.count > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(fast.snapshots.count, 0);
    } finally {
      await fast.close();
    }
  });

  it('a pull paced at 2 MiB/s keeps within 10 % of the cap', async () => {
    await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-1' });
    const started = performance.now();
    const result = await pullSnapshot({ transport: source.client, ref, mode: 'offline', incomingPath: incoming, maxBytesPerSecond: 2 * MiB });
    const seconds = (performance.now() - started) / 1000;
    const rate = result.bytes / seconds;
    console.log(`      paced: ${(result.bytes / MiB).toFixed(2)} MiB in ${seconds.toFixed(2)} s = ${(rate / MiB).toFixed(3)} MiB/s (cap 2 MiB/s, ${((rate / (2 * MiB) - 1) * 100).toFixed(1)} %)`);
    assert.ok(rate <= 2 * MiB * 1.1, `rate ${rate} over the cap`);
    assert.ok(rate >= 2 * MiB * 0.85, `rate ${rate} far under the cap`);
  });

  it('measures a loopback pull against cp + fsync of the same file (reported, not asserted)', async function () {
    this.timeout(300_000);
    const big = await makeCluster();
    const agent = await startAgent(big, 'node-a');
    try {
      const rows = Number(process.env.PULL_BENCH_MIB ?? 128) * 256; // 4 KiB rows
      for (let done = 0; done < rows; done += 8192) {
        const batch = Array.from({ length: Math.min(8192, rows - done) }, (_, i) => ({ id: `r${done + i}`, title: 'r', body: Buffer.alloc(4000, (done + i) % 251) }));
        if (done === 0) await big.cluster.createShard('acme', 'default', 'node-a');
        await big.replicator.putMany('acme', 'default', batch);
      }
      await big.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-1' });
      const file = await big.cluster.fileOn('node-a', 'acme', 'default');
      const dest = `${await big.cluster.fileOn('node-b', 'acme', 'default')}.incoming`;
      const pullStart = performance.now();
      const result = await pullSnapshot({ transport: agent.client, ref, mode: 'offline', incomingPath: dest });
      const pullMs = performance.now() - pullStart;
      fs.rmSync(dest);
      execFileSync('sync');
      const cpStart = performance.now();
      execFileSync('cp', [file, dest]);
      execFileSync('sync', [dest]);
      const cpMs = performance.now() - cpStart;
      const mib = result.bytes / MiB;
      console.log(
        `      loopback pull of ${mib.toFixed(0)} MiB: ${pullMs.toFixed(0)} ms (${(mib / (pullMs / 1000)).toFixed(0)} MiB/s, pin + stream + sha256 both ends + fsync + digest) ` +
          `vs cp + sync ${cpMs.toFixed(0)} ms (${(mib / (cpMs / 1000)).toFixed(0)} MiB/s): ${(pullMs / cpMs).toFixed(2)}x`,
      );
    } finally {
      await agent.close();
      await big.close();
      fs.rmSync(path.join(big.root), { recursive: true, force: true });
    }
  });
});
