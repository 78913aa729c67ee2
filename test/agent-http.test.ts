// The node agent's HTTP API over real sockets and real shard files: the token on every
// request, writes and reads, bulk loads, moved and locked shards, the listing, frames
// that bring a copy level with its source, and HTTPS with a private CA.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../common/errors';
import { applyChanges } from '../store/replay';
import { openShardFile, readState } from '../store/shard-file';
import { storedFingerprint } from '../store/verify';
import { ShardMovedError } from '../transport/wire';
import { HttpTransport } from '../transport/http';
import { makeCluster, seedShard, type TestCluster } from './support/fixtures';
import { startAgent, TEST_TOKEN, type TestAgent } from './support/agents';
import { suite } from './support/root-hooks';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const PATHS = [
  '/v1/health',
  '/v1/shards',
  '/v1/shards/acme/default',
  '/v1/shards/acme/default/tasks/a',
  '/v1/shards/acme/default/tasks',
  '/v1/shards/acme/default/snapshots/job-1',
  '/v1/shards/acme/default/snapshots/job-1/bytes?offset=0&snapshot=1-2-abc',
  '/v1/shards/acme/default/snapshots/job-1/digest?snapshot=1-2-abc',
  '/v1/shards/acme/default/frames?since=0',
  '/v1/nope',
  '/',
  '/v1/shards/..%2F..%2Fetc/passwd',
  '/v1/shards/%zz/x',
];

function rejectsWith(type: string, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof TasksdError, `expected a TasksdError, got ${err}`);
    assert.equal(err.type, type, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

describe('node agent HTTP API', () => {
  let t: TestCluster;
  let a: TestAgent;
  beforeEach(async () => {
    t = await makeCluster();
    await seedShard(t, 'acme', 'default', 'node-a', 20, 8);
    a = await startAgent(t, 'node-a');
  });
  afterEach(async () => {
    await a.close();
    await t.close();
  });

  async function shardState() {
    const db = openShardFile(await t.cluster.fileOn('node-a', 'acme', 'default'));
    try {
      return readState(db);
    } finally {
      db.close();
    }
  }

  it('answers 401 to every path and method without the token, or with a wrong one, and does nothing', async () => {
    const before = await shardState();
    const files = fs.readdirSync(await a.store.dir()).sort();
    const variants: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token' }, { authorization: TEST_TOKEN }, { authorization: `Basic ${TEST_TOKEN}` }];
    for (const headers of variants) {
      for (const method of METHODS) {
        for (const p of PATHS) {
          const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? JSON.stringify({ title: 'x', tasks: [{ id: 'z', title: 'z' }] }) : undefined;
          const res = await fetch(`${a.url}${p}`, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, body });
          assert.equal(res.status, 401, `${method} ${p} with ${JSON.stringify(headers)}`);
          if (method !== 'HEAD') {
            const answer = (await res.json()) as { error: string; message: string };
            assert.equal(answer.error, 'Unauthorized');
            assert.match(answer.message, /cluster token/);
          }
        }
      }
    }
    // An oversized body is refused for the token first, too.
    const big = await fetch(`${a.url}/v1/shards/acme/default/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(70 * 1024 * 1024) });
    assert.equal(big.status, 401);
    assert.deepEqual(await shardState(), before, 'no write, lock or seq change');
    assert.deepEqual(fs.readdirSync(await a.store.dir()).sort(), files, 'no file created');
    assert.equal(a.snapshots.count, 0, 'nothing pinned');
    const other = new HttpTransport({ url: a.url, token: 'wrong' });
    try {
      await assert.rejects(other.put('acme', 'default', { id: 'a', title: 'x' }), rejectsWith(ErrorType.Unauthorized, /TASKSD_CLUSTER_TOKEN/));
    } finally {
      await other.close();
    }
  });

  it('health, writes, reads and a bulk load through the client', async () => {
    assert.deepEqual(await a.client.health(), { node: 'node-a', dir: await a.store.dir(), cluster: t.cluster.catalog.clusterId });
    const put = await a.client.put('acme', 'default', { id: 'a', title: 'one', body: Buffer.from([0, 1, 2, 255]) });
    assert.deepEqual(put, { id: 'a', title: 'one', seq: 21 });
    assert.deepEqual(await a.client.get('acme', 'default', 'a'), { id: 'a', title: 'one', body: Buffer.from([0, 1, 2, 255]), seq: 21 });
    assert.equal(await a.client.get('acme', 'default', 'missing'), undefined);
    const tasks = Array.from({ length: 10_000 }, (_, i) => ({ id: `bulk-${i}`, title: `bulk ${i}`, body: i % 2 ? Buffer.alloc(16, i % 256) : null }));
    assert.deepEqual(await a.client.load('acme', 'default', tasks), { org: 'acme', ns: 'default', rows: 10_000, seq: 10_021 });
    assert.equal((await shardState()).rows, 10_021);
    assert.deepEqual((await a.client.get('acme', 'default', 'bulk-7'))?.body, Buffer.alloc(16, 7));
    // Over the cap, or with one bad id: refused whole, nothing applied.
    await assert.rejects(a.client.load('acme', 'default', [...tasks, { id: 'one-more', title: 'x' }]), rejectsWith(ErrorType.InvalidInput, /at most 10000/));
    await assert.rejects(a.client.load('acme', 'default', [{ id: 'ok', title: 'x' }, { id: 'Bad/Id', title: 'x' }]), rejectsWith(ErrorType.InvalidInput, /task id/));
    assert.equal((await shardState()).seq, 10_021);
    assert.equal(await a.client.get('acme', 'default', 'ok'), undefined);
    // Create a shard file here; a second create is refused.
    const created = await a.client.createShard('acme', 'other');
    assert.deepEqual({ ...created, bytes: 0 }, { org: 'acme', ns: 'other', node: 'node-a', seq: 0, rows: 0, bytes: 0 });
    assert.ok(fs.existsSync(path.join(await a.store.dir(), 'acme.other.db')));
    await assert.rejects(a.client.createShard('acme', 'other'), rejectsWith(ErrorType.ShardExists));
  });

  it('refuses bad ids, bodies and numbers with 400 and touches nothing', async () => {
    const before = await shardState();
    const files = fs.readdirSync(await a.store.dir()).sort();
    const auth = { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' };
    const cases: Array<[string, string, unknown?]> = [
      ['PUT', '/v1/shards/ACME/default/tasks/a', { title: 'x' }],
      ['PUT', '/v1/shards/acme/..%2Fx/tasks/a', { title: 'x' }],
      ['PUT', '/v1/shards/acme/default/tasks/a%00b', { title: 'x' }],
      ['PUT', '/v1/shards/acme/default/tasks/a', { title: 'x', body: 'not base64!' }],
      ['PUT', '/v1/shards/acme/default/tasks/a', { title: 'x', extra: 1 }],
      ['PUT', '/v1/shards/acme/default/tasks/a', { title: 7 }],
      ['POST', '/v1/shards/acme/default/tasks', { tasks: [] }],
      ['POST', '/v1/shards/Bad/x'],
      ['GET', '/v1/shards/acme/default/frames?since=-1'],
      ['GET', '/v1/shards/acme/default/frames?since=0&limit=0'],
      ['GET', '/v1/shards/acme/default/snapshots/job-1/bytes?offset=x&snapshot=1-2-abc'],
      ['GET', '/v1/shards/acme/default/snapshots/job-1/bytes?offset=0&snapshot=..'],
    ];
    for (const [method, p, body] of cases) {
      const res = await fetch(`${a.url}${p}`, { method, headers: auth, body: body === undefined ? (method === 'POST' ? '{}' : undefined) : JSON.stringify(body) });
      const answer = (await res.json()) as { error: string };
      assert.equal(res.status, 400, `${method} ${p}: ${JSON.stringify(answer)}`);
      assert.equal(answer.error, 'InvalidInput');
    }
    const bad = await fetch(`${a.url}/v1/shards/acme/default/tasks/a`, { method: 'PUT', headers: auth, body: '{"title":' });
    assert.equal(bad.status, 400);
    assert.deepEqual(await shardState(), before);
    assert.deepEqual(fs.readdirSync(await a.store.dir()).sort(), files);
    const unknown = await fetch(`${a.url}/v1/shards/nope/default/tasks/a`, { method: 'PUT', headers: auth, body: '{"title":"x"}' });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: string }).error, 'UnknownShard');
  });

  it('a job id with odd printable characters reaches the pin intact', async () => {
    await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'migrate acme/default #1?&' });
    const ref = { org: 'acme', ns: 'default', jobId: 'migrate acme/default #1?&' };
    const info = await a.client.pin(ref, 'offline');
    assert.equal(info.seq, 21);
    await a.client.unpin(ref);
    assert.equal(a.snapshots.count, 0);
  });

  it('a locked shard answers 423; a shard another node owns answers 409 naming the owner', async () => {
    await t.replicator.propose({ op: 'lock', org: 'acme', ns: 'default', jobId: 'job-1' });
    const locked = await fetch(`${a.url}/v1/shards/acme/default/tasks/a`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: '{"title":"x"}',
    });
    assert.equal(locked.status, 423);
    assert.equal(((await locked.json()) as { error: string }).error, 'ShardLocked');
    await assert.rejects(a.client.put('acme', 'default', { id: 'a', title: 'x' }), rejectsWith(ErrorType.ShardLocked, /locked by migration job-1/));
    // The catalog's owner flips to node-b (as a move's commit point does).
    await t.cluster.catalog.claim('acme', 'default', 'job-1', { from: 'node-a', to: 'node-b' });
    assert.equal(await t.cluster.catalog.flipOwner('acme', 'default', 'node-a', 'node-b', 'job-1'), 2);
    const before = await shardState();
    const moved = await fetch(`${a.url}/v1/shards/acme/default/tasks/a`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: '{"title":"x"}',
    });
    assert.equal(moved.status, 409);
    assert.deepEqual(await moved.json(), { error: 'Moved', message: 'shard acme/default is owned by node node-b', owner: 'node-b' });
    await assert.rejects(a.client.put('acme', 'default', { id: 'a', title: 'x' }), (err: unknown) => {
      assert.ok(err instanceof ShardMovedError);
      assert.equal(err.owner, 'node-b');
      assert.equal(err.type, ErrorType.Moved);
      return true;
    });
    await assert.rejects(a.client.get('acme', 'default', 't00001'), rejectsWith(ErrorType.Moved, /node node-b/));
    await assert.rejects(a.client.load('acme', 'default', [{ id: 'a', title: 'x' }]), rejectsWith(ErrorType.Moved));
    assert.deepEqual(await shardState(), before, 'the refused writes applied nothing');
    assert.deepEqual(await a.client.listShards(), [], 'node-a no longer lists it');
  });

  it('lists the shards this node owns; an unreadable file gets its own row', async () => {
    await seedShard(t, 'acme', 'broken', 'node-a', 3);
    await seedShard(t, 'acme', 'elsewhere', 'node-b', 3);
    const broken = await t.cluster.fileOn('node-a', 'acme', 'broken');
    const db = openShardFile(broken);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    fs.writeFileSync(broken, Buffer.alloc(8192, 0x5a));
    const listing = await a.client.listShards();
    assert.deepEqual(
      listing.map((s) => [s.ns, s.owner, s.rows, s.seq]),
      [
        ['broken', 'node-a', null, null],
        ['default', 'node-a', 20, 20],
      ],
    );
    const row = listing.find((s) => s.ns === 'broken') as { error?: string };
    assert.match(row.error ?? '', /cannot be read/);
    assert.deepEqual(listing.find((s) => s.ns === 'default'), (await t.cluster.listShards()).find((s) => s.ns === 'default'));
  });

  it('frames since a seq bring a copy to the source fingerprint, in batches with a limit', async () => {
    const sourceFile = await t.cluster.fileOn('node-a', 'acme', 'default');
    const copyFile = path.join(suite().scratch, `copy-${Date.now()}.db`);
    const source = openShardFile(sourceFile);
    source.pragma('wal_checkpoint(TRUNCATE)');
    source.close();
    fs.copyFileSync(sourceFile, copyFile);
    await a.client.put('acme', 'default', { id: 't00001', title: 'updated', body: Buffer.from('new body') });
    await a.client.put('acme', 'default', { id: 'new-1', title: 'inserted' });
    await t.replicator.propose({ op: 'delete', org: 'acme', ns: 'default', id: 't00002' });
    await a.client.load('acme', 'default', Array.from({ length: 25 }, (_, i) => ({ id: `n${i}`, title: `n ${i}` })));
    const copy = openShardFile(copyFile);
    try {
      let batches = 0;
      for (let more = true; more; batches++) {
        const batch = await a.client.framesSince('acme', 'default', readState(copy).seq, 10);
        assert.equal(JSON.parse(JSON.stringify(batch)).since, batch.since, 'plain JSON');
        applyChanges(copy, batch);
        more = batch.more;
      }
      assert.equal(batches, 3);
      const src = openShardFile(sourceFile);
      try {
        assert.deepEqual(storedFingerprint(copy), storedFingerprint(src));
      } finally {
        src.close();
      }
      const last = await a.client.framesSince('acme', 'default', readState(copy).seq);
      assert.deepEqual([last.changes.length, last.more, applyChanges(copy, last).frames], [0, false, 0]);
      assert.equal(copy.prepare('SELECT body FROM tasks WHERE id = ?').pluck().get('t00001')?.toString(), 'new body');
    } finally {
      copy.close();
    }
    await assert.rejects(a.client.framesSince('acme', 'default', 10_000), rejectsWith(ErrorType.VerificationFailed, /ahead of the source/));
  });

  it('serves HTTPS with a self-signed certificate that the client trusts through the CA option', async function () {
    const dir = fs.mkdtempSync(path.join(suite().scratch, 'tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const pem = { cert: fs.readFileSync(cert, 'utf8'), key: fs.readFileSync(key, 'utf8') };
    const secure = await startAgent(t, 'node-b', { tls: pem, ca: pem.cert });
    try {
      assert.match(secure.url, /^https:/);
      assert.equal((await secure.client.health()).node, 'node-b');
      const fromFile = new HttpTransport({ url: secure.url, token: TEST_TOKEN, caFile: cert });
      const untrusting = new HttpTransport({ url: secure.url, token: TEST_TOKEN });
      try {
        assert.equal((await fromFile.health()).node, 'node-b');
        await assert.rejects(untrusting.health(), rejectsWith(ErrorType.NodeUnreachable, /TASKSD_TLS_CA/));
      } finally {
        await fromFile.close();
        await untrusting.close();
      }
    } finally {
      await secure.close();
    }
  });

  it('an agent that does not answer is one NodeUnreachable line naming its URL', async () => {
    const url = a.url;
    await a.close();
    const client = new HttpTransport({ url, token: TEST_TOKEN });
    try {
      await assert.rejects(client.health(), rejectsWith(ErrorType.NodeUnreachable, new RegExp(`node agent at ${url.replace(/[.:/]/g, '\\$&')} is unreachable: .*ECONNREFUSED`)));
    } finally {
      await client.close();
      a = await startAgent(t, 'node-a'); // for afterEach
    }
  });
});
