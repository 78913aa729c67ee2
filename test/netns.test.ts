// The test hosts of issue 12 (test/support/netns.ts), proven with real processes in real
// network namespaces: reachability both ways and between hosts, forwarded loopback
// services, a cut link, a shaped link, SIGKILL of a process in a namespace, and nothing
// left behind. Where namespaces are unavailable this suite says why; on CI it fails.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { PROJECT_ROOT, temporalCliPath } from '../temporal/cli-binary';
import { cleanupStaleTestNetworks, createTestNetwork, listTestNames, netnsAvailable, type TestHost, type TestNetwork } from './support/netns';
import { postgres } from './support/postgres-hooks';
import { suite } from './support/root-hooks';
import { startTcpForwarder } from './support/tcp-forward';

const MiB = 1024 * 1024;

// A server for the hosts: `node -e SERVER <address> echo|send|sink [bytes]` listens on a
// free port of <address> and prints {"pid","port"}. echo: echoes; send: writes <bytes> and
// ends; sink: reads to the end and answers the byte count.
const SERVER = `
const net = require('net');
const [host, mode, size] = process.argv.slice(1);
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  if (mode === 'send') {
    const chunk = Buffer.alloc(65536, 7);
    let left = Number(size);
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  } else if (mode === 'sink') {
    let n = 0;
    socket.on('data', (d) => { n += d.length; });
    socket.on('end', () => socket.end(String(n)));
  } else {
    socket.pipe(socket);
  }
});
server.listen(0, host, () => console.log(JSON.stringify({ pid: process.pid, port: server.address().port })));
`;

// A client for the hosts: `node -e PROBE <host> <port> <timeout ms>` connects, sends a byte
// and waits for it to come back; prints "echoed", "timeout" or the error code.
const PROBE = `
const net = require('net');
const [host, port, ms] = process.argv.slice(1);
const done = (what) => { console.log(what); process.exit(0); };
setTimeout(() => done('timeout'), Number(ms));
const socket = net.connect({ host, port: Number(port) }, () => socket.write('x'));
socket.on('data', () => done('echoed'));
socket.on('error', (err) => done(err.code));
`;

// `node -e DOWNLOAD <host> <port>`: reads a connection to its end; prints {"bytes","ms"}.
const DOWNLOAD = `
const net = require('net');
const [host, port] = process.argv.slice(1);
const started = process.hrtime.bigint();
let bytes = 0;
const socket = net.connect({ host, port: Number(port) });
socket.on('data', (d) => { bytes += d.length; });
socket.on('end', () => { console.log(JSON.stringify({ bytes, ms: Number(process.hrtime.bigint() - started) / 1e6 })); process.exit(0); });
socket.on('error', (err) => { console.log(JSON.stringify({ error: err.code })); process.exit(1); });
`;

interface Server {
  child: ChildProcess;
  pid: number;
  port: number;
}

async function startServer(host: TestHost, mode: 'echo' | 'send' | 'sink', bytes = 0): Promise<Server> {
  const child = host.spawn(process.execPath, ['-e', SERVER, host.address, mode, String(bytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server in ${host.name} did not start in 10 s: ${output}`)), 10_000);
    child.stdout!.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      const { pid, port } = JSON.parse(chunk.toString()) as { pid: number; port: number };
      resolve({ child, pid, port });
    });
    child.once('exit', (code) => reject(new Error(`server in ${host.name} exited (${code}): ${output}`)));
  });
}

/** From the root namespace: connect, send a byte, expect it back; "echoed", "timeout" or an error code. */
function probeFromRoot(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => socket.write('x'));
    const done = (what: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(what);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('data', () => done('echoed'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

async function probeFrom(from: TestHost, host: string, port: number, timeoutMs: number): Promise<string> {
  const result = await from.exec(process.execPath, ['-e', PROBE, host, String(port), String(timeoutMs)], { timeoutMs: timeoutMs + 10_000 });
  return result.stdout.trim() || `exit ${result.code}: ${result.stderr}`;
}

/** Downloads everything a `send` server writes, into the root namespace; bytes and seconds. */
function downloadToRoot(host: string, port: number): Promise<{ bytes: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let bytes = 0;
    const socket = net.connect({ host, port });
    socket.on('data', (chunk) => (bytes += chunk.length));
    socket.on('end', () => resolve({ bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
    socket.on('error', reject);
    socket.setTimeout(30_000, () => socket.destroy(new Error('download stalled for 30 s')));
  });
}

/** Uploads `size` bytes from the root namespace to a `sink` server; the count it acknowledged and seconds. */
function uploadFromRoot(host: string, port: number, size: number): Promise<{ bytes: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let answer = '';
    const socket = net.connect({ host, port }, () => {
      const chunk = Buffer.alloc(65536, 3);
      let left = size;
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void socket.once('drain', pump);
        }
        socket.end();
      };
      pump();
    });
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => resolve({ bytes: Number(answer), seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
    socket.on('error', reject);
    socket.setTimeout(30_000, () => socket.destroy(new Error('upload stalled for 30 s')));
  });
}

const rate = (bytes: number, seconds: number) => `${(bytes / seconds / MiB).toFixed(2)} MiB/s`;

describe('test hosts: network namespaces, links to cut and shape (test/support/netns.ts)', function () {
  this.timeout(60_000);
  let network: TestNetwork | undefined;
  let a: TestHost;
  let b: TestHost;

  before(async function () {
    const available = await netnsAvailable();
    if (!available.ok) {
      const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
      if (ci) throw new Error(`CI runs as root and must have network namespaces, but: ${available.reason}`);
      console.log(`      NOT RUN: network namespaces are unavailable here: ${available.reason}`);
      console.log('      (tests that need test hosts run their agents on loopback ports instead; on CI this is a failure)');
      this.skip();
    }
    console.log(`      namespaces available; sch_netem ${available.netem ? 'present' : 'absent (shaping uses tbf; delayMs is refused)'}`);
    network = await createTestNetwork();
    a = await network.addHost('node-a');
    b = await network.addHost('node-b');
    console.log(`      run ${network.runId}: bridge ${network.bridge} ${network.hostAddress} (${network.subnet}); node-a ${a.address}, node-b ${b.address}`);
  });

  after(async function () {
    await network?.close();
  });

  it('a process listening in host A answers from host B and from the root namespace', async function () {
    const server = await startServer(a, 'echo');
    assert.equal(await probeFrom(b, a.address, server.port, 5_000), 'echoed');
    assert.equal(await probeFromRoot(a.address, server.port, 5_000), 'echoed');
    // And the other way round: A reaches B.
    const serverB = await startServer(b, 'echo');
    assert.equal(await probeFrom(a, b.address, serverB.port, 5_000), 'echoed');
    // A host's own loopback is its own: the root namespace's 127.0.0.1 is not there.
    const unforwarded = await probeFrom(a, '127.0.0.1', Number(suite().server.address.split(':')[1]), 2_000);
    assert.equal(unforwarded, 'ECONNREFUSED');
  });

  it('the suite\'s Temporal and PostgreSQL, on loopback, answer inside a host through forwarders on the bridge address', async function () {
    const temporalPort = Number(suite().server.address.split(':')[1]);
    const temporal = await network!.forward(temporalPort);
    assert.equal(temporal.host, network!.hostAddress);
    const health = await a.exec(temporalCliPath(), ['operator', 'cluster', 'health', '--address', temporal.address], { timeoutMs: 15_000 });
    assert.equal(health.code, 0, `temporal operator cluster health from ${a.name}: ${health.stdout}${health.stderr}`);
    assert.match(health.stdout, /SERVING/);
    assert.ok(temporal.connections() >= 1);

    const pgUrl = new URL(postgres().url);
    const pg = await network!.forward(Number(pgUrl.port), { to: pgUrl.hostname === 'localhost' ? '127.0.0.1' : pgUrl.hostname });
    pgUrl.hostname = pg.host;
    pgUrl.port = String(pg.port);
    const query = `const { Client } = require('pg'); const c = new Client({ connectionString: process.argv[1] });
      c.connect().then(() => c.query('select 41 + 1 as answer')).then((r) => { console.log(r.rows[0].answer); return c.end(); })
        .catch((e) => { console.log('error: ' + e.message); process.exit(1); });`;
    const answer = await a.exec(process.execPath, ['-e', query, pgUrl.href], { cwd: PROJECT_ROOT, timeoutMs: 15_000 });
    assert.equal(answer.stdout.trim(), '42', answer.stderr);
    assert.ok(pg.connections() >= 1);
  });

  it('a cut link makes connections to the host time out, and an open one stall; restoring it brings both back', async function () {
    const server = await startServer(a, 'echo');
    // A connection opened before the cut.
    const open = net.connect({ host: a.address, port: server.port });
    await new Promise<void>((resolve, reject) => open.once('connect', resolve).once('error', reject));
    try {
      await a.cutLink();
      const started = Date.now();
      const [fromB, fromRoot] = await Promise.all([probeFrom(b, a.address, server.port, 2_000), probeFromRoot(a.address, server.port, 2_000)]);
      console.log(`      cut: from node-b ${fromB}, from the root namespace ${fromRoot}, after ${Date.now() - started} ms`);
      assert.equal(fromB, 'timeout');
      assert.equal(fromRoot, 'timeout');
      // Bytes written on the open connection do not arrive while the link is down …
      let echoed = false;
      const echo = new Promise<number>((resolve) => open.once('data', () => resolve(Date.now())));
      echo.then(() => (echoed = true));
      open.write('y');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(echoed, false, 'an echo crossed a cut link');
      // … and do once it is back (TCP retransmits; bounded by the race below).
      const restoredAt = Date.now();
      await a.restoreLink();
      const echoedAt = await Promise.race([echo, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('no echo 10 s after restoreLink')), 10_000))]);
      console.log(`      restored: the stalled connection's echo arrived ${echoedAt - restoredAt} ms after restoreLink`);
      assert.equal(await probeFrom(b, a.address, server.port, 5_000), 'echoed');
      assert.equal(await probeFromRoot(a.address, server.port, 5_000), 'echoed');
    } finally {
      open.destroy();
      await a.restoreLink();
    }
  });

  it('shape() limits a transfer to the rate in both directions, host to host too; unshape() restores the speed', async function () {
    const size = 8 * MiB;
    const limit = 4 * MiB;
    const expected = size / limit;
    const sender = await startServer(a, 'send', size);
    const sink = await startServer(a, 'sink');

    const before = await downloadToRoot(a.address, sender.port);
    assert.equal(before.bytes, size);
    console.log(`      unshaped: 8 MiB from node-a in ${before.seconds.toFixed(3)} s (${rate(size, before.seconds)})`);

    await a.shape({ rateBytesPerSec: limit });
    try {
      const down = await downloadToRoot(a.address, sender.port);
      const up = await uploadFromRoot(a.address, sink.port, size);
      const hostToHost = await b.exec(process.execPath, ['-e', DOWNLOAD, a.address, String(sender.port)], { timeoutMs: 30_000 });
      const between = JSON.parse(hostToHost.stdout) as { bytes: number; ms: number };
      const results: Array<[string, number, number]> = [
        ['node-a → root', down.bytes, down.seconds],
        ['root → node-a', up.bytes, up.seconds],
        ['node-a → node-b', between.bytes, between.ms / 1000],
      ];
      for (const [what, bytes, seconds] of results) {
        console.log(`      shaped to 4 MiB/s, ${what}: ${(bytes / MiB).toFixed(0)} MiB in ${seconds.toFixed(3)} s = ${rate(bytes, seconds)} (${((seconds / expected - 1) * 100).toFixed(1)} % off size/rate)`);
      }
      for (const [what, bytes, seconds] of results) {
        assert.equal(bytes, size, `${what}: bytes`);
        assert.ok(Math.abs(seconds - expected) <= 0.15 * expected, `${what}: ${seconds.toFixed(3)} s, not within 15 % of ${expected} s`);
      }
    } finally {
      await a.unshape();
    }

    const after = await downloadToRoot(a.address, sender.port);
    console.log(`      unshaped again: 8 MiB in ${after.seconds.toFixed(3)} s (${rate(size, after.seconds)})`);
    assert.equal(after.bytes, size);
    assert.ok(after.seconds < expected / 4, `unshape did not restore the speed: ${after.seconds.toFixed(3)} s`);
  });

  it('delayMs is refused with a reason when the kernel has no sch_netem', async function () {
    const available = await netnsAvailable();
    if (available.ok && available.netem) {
      await a.shape({ rateBytesPerSec: 4 * MiB, delayMs: 20 });
      await a.unshape();
      return;
    }
    await assert.rejects(a.shape({ rateBytesPerSec: 4 * MiB, delayMs: 20 }), /sch_netem/);
  });

  it('SIGKILL of a process spawned in a host kills that process itself: its port stops answering', async function () {
    const server = await startServer(a, 'echo');
    // `ip netns exec` execs in place: the ChildProcess is the server, not a launcher.
    assert.equal(server.pid, server.child.pid);
    assert.equal(await probeFromRoot(a.address, server.port, 5_000), 'echoed');
    const exited = new Promise<NodeJS.Signals | null>((resolve) => server.child.once('exit', (_code, signal) => resolve(signal)));
    server.child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const pids = execFileSync('ip', ['netns', 'pids', a.namespace], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
    assert.ok(!pids.includes(server.pid), `pid ${server.pid} still in ${a.namespace}`);
    assert.equal(await probeFromRoot(a.address, server.port, 2_000), 'ECONNREFUSED');
    assert.equal(await probeFrom(b, a.address, server.port, 2_000), 'ECONNREFUSED');
  });

  it('the forwarder counts connections and closes cleanly', async function () {
    const target = net.createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const port = (target.address() as net.AddressInfo).port;
    const forwarder = await startTcpForwarder({ listenHost: network!.hostAddress, targetPort: port });
    try {
      assert.equal(await probeFrom(a, forwarder.host, forwarder.port, 5_000), 'echoed');
      assert.equal(await probeFrom(b, forwarder.host, forwarder.port, 5_000), 'echoed');
      assert.equal(forwarder.connections(), 2);
    } finally {
      await forwarder.close();
      target.close();
    }
    assert.equal(await probeFrom(a, forwarder.host, forwarder.port, 2_000), 'ECONNREFUSED');
  });

  it('a crashed earlier run\'s namespaces, links and processes are removed, a live run\'s are not', async function () {
    // What a run killed mid-test leaves: a namespace with a process in it, a veth, a bridge, and no marker.
    const stale = 'tsd-zz9z';
    execFileSync('ip', ['netns', 'add', `${stale}-node-a`]);
    execFileSync('ip', ['link', 'add', `${stale}-br`, 'type', 'bridge']);
    execFileSync('ip', ['link', 'add', `${stale}-h2`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', `${stale}-node-a`]);
    const orphan = spawn('ip', ['netns', 'exec', `${stale}-node-a`, 'sleep', '30'], { stdio: 'ignore' });
    const orphanExit = new Promise<NodeJS.Signals | null>((resolve) => orphan.once('exit', (_code, signal) => resolve(signal)));
    await new Promise((resolve) => setTimeout(resolve, 200));

    const removed = await cleanupStaleTestNetworks();
    assert.deepEqual(removed.namespaces, [`${stale}-node-a`]);
    assert.deepEqual(removed.links.sort(), [`${stale}-br`, `${stale}-h2`]);
    assert.equal(await orphanExit, 'SIGKILL');
    const names = await listTestNames();
    assert.deepEqual([...names.namespaces, ...names.links].filter((name) => name.startsWith(stale)), []);
    // This run's hosts are alive and untouched.
    const ours = names.namespaces.filter((name) => name.startsWith(`tsd-${network!.runId}-`)).sort();
    assert.deepEqual(ours, [a.namespace, b.namespace].sort());
    const server = await startServer(a, 'echo');
    assert.equal(await probeFrom(b, a.address, server.port, 5_000), 'echoed');
  });

  it('close() kills what the hosts run and leaves no namespace, link, bridge or forwarder behind', async function () {
    const server = await startServer(b, 'echo');
    const forwarder = await network!.forward(Number(suite().server.address.split(':')[1]));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => server.child.once('exit', (_code, signal) => resolve(signal)));
    const prefix = `tsd-${network!.runId}-`;
    await network!.close();
    assert.equal(await exited, 'SIGKILL');
    const netnsList = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    assert.ok(!netnsList.includes(prefix), `ip netns list still shows ${prefix}*:\n${netnsList}`);
    assert.ok(!links.includes(prefix), `ip link still shows ${prefix}*:\n${links}`);
    // Any other tsd-* left belongs to another run that is still going (its marker names a live process).
    const others = await listTestNames();
    const stale = await cleanupStaleTestNetworks();
    assert.deepEqual(stale, { namespaces: [], links: [] }, `stale test networks: ${JSON.stringify(others)}`);
    const addresses = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
    assert.ok(!addresses.includes(`${network!.hostAddress}/`), `${network!.hostAddress} is still assigned`);
    // (No probe of the old bridge address: with the bridge gone it would follow the default route off the machine.)
    assert.equal(forwarder.active(), 0);
    network = undefined;
  });
});
