// Issue 12's failures, each one a test, against real processes on separate test hosts:
// two node agents (`tasksd node serve`, each its own process, data directory and network
// namespace), a coordinator in this process, a fresh PostgreSQL database as the catalog,
// and the suite's Temporal. The agents reach Temporal and PostgreSQL through forwarders
// on the bridge address; the CLI runs in the root namespace and talks to the agents over
// the bridge. Where namespaces are unavailable the agents run on loopback ports instead
// (TASKSD_TEST_LOOPBACK=1 forces that here), and the link-cut test, which needs a link,
// says so; on CI that is a failure, not a skip.
import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { MigrationClient, type Job } from '../client';
import type { CopyHeartbeat } from '../activities/types';
import { Cluster } from '../store/cluster';
import { freePort } from '../temporal/dev-server';
import { startEmbeddedCluster, type EmbeddedCluster } from '../temporal/embedded-cluster';
import { startAgentProcess, spawnAgentProcess, type AgentProcess } from './support/agent-process';
import { eventually } from './support/eventually';
import { createTestNetwork, netnsAvailable, type TestHost, type TestNetwork } from './support/netns';
import { postgres } from './support/postgres-hooks';
import { suite } from './support/root-hooks';
import { tasksd, type Run } from './support/run';

const ORG = 'acme';
const NS = 'default';
const SHARD_FILE = `${ORG}.${NS}.db`;
/** ≈ 10 MiB of incompressible rows: at COPY_RATE a copy takes about 7 s, a wide mid-copy window. */
const ROWS = 2400;
const ROW_BYTES = 4096;
const COPY_RATE = 1536 * 1024;
const NODES = ['node-a', 'node-b'] as const;
type NodeId = (typeof NODES)[number];
const AGENT_PORT = 7420;

const ci = () => process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

/** Where the test hosts come from: namespaces on a bridge, or loopback ports of this host. */
interface Placement {
  netns: boolean;
  /** Why there are no namespaces (loopback placement). */
  reason?: string;
}

let placement: Placement;

/** One test's cluster: catalog database, coordinator, two agent processes and the CLI's environment. */
interface Topology {
  root: string;
  token: string;
  taskQueue: string;
  catalogUrl: string;
  databaseName: string;
  cluster: Cluster;
  clusterId: string;
  network?: TestNetwork;
  hosts: Partial<Record<NodeId, TestHost>>;
  listen: Record<NodeId, string>;
  dirs: Record<NodeId, string>;
  agents: Partial<Record<NodeId, AgentProcess>>;
  /** Every agent process this test started, for cleanup. */
  spawned: AgentProcess[];
  coordinator: EmbeddedCluster;
  migrations: MigrationClient;
  /** The environment of an agent process (addresses as seen from its host). */
  agentEnv: NodeJS.ProcessEnv;
  /** The environment of a CLI run from the root namespace. */
  cliEnv: NodeJS.ProcessEnv;
}

/** The environment without anything a developer's shell (or another test) set for tasksd or Temporal. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(TASKSD_|TEMPORAL_)/.test(key)) env[key] = value;
  }
  return env;
}

/** A free loopback port (the dev server's own helper). */
const freeLoopbackPort = freePort;

async function buildTopology(): Promise<Topology> {
  const root = fs.mkdtempSync(path.join(suite().scratch, 'multi-host-'));
  const token = randomBytes(24).toString('hex');
  const taskQueue = `multi-host-${randomUUID()}`;
  const catalogUrl = await postgres().createDatabase(`mh_${path.basename(root).replace(/\W/g, '_').toLowerCase()}`);
  const databaseName = decodeURIComponent(new URL(catalogUrl).pathname.slice(1));
  const dirs = Object.fromEntries(NODES.map((id) => [id, path.join(root, 'hosts', id, 'shards')])) as Record<NodeId, string>;
  const topology: Partial<Topology> = { root, token, taskQueue, catalogUrl, databaseName, dirs, agents: {}, spawned: [], hosts: {} };
  try {
    // This process makes the catalog (and the cluster id) before any agent opens it.
    topology.cluster = await Cluster.open(path.join(root, 'coordinator'), { catalog: catalogUrl });
    topology.clusterId = topology.cluster.catalog.clusterId;
    let temporalForAgents = suite().server.address;
    let catalogForAgents = catalogUrl;
    if (placement.netns) {
      const network = await createTestNetwork();
      topology.network = network;
      for (const id of NODES) topology.hosts![id] = await network.addHost(id);
      const temporal = await network.forward(Number(suite().server.address.split(':').pop()));
      temporalForAgents = temporal.address;
      const pg = new URL(catalogUrl);
      const pgForward = await network.forward(Number(pg.port), { to: pg.hostname === 'localhost' ? '127.0.0.1' : pg.hostname });
      pg.hostname = pgForward.host;
      pg.port = String(pgForward.port);
      catalogForAgents = pg.href;
      topology.listen = Object.fromEntries(NODES.map((id) => [id, `${topology.hosts![id]!.address}:${AGENT_PORT}`])) as Record<NodeId, string>;
    } else {
      const ports = await Promise.all(NODES.map(() => freeLoopbackPort()));
      topology.listen = Object.fromEntries(NODES.map((id, i) => [id, `127.0.0.1:${ports[i]}`])) as Record<NodeId, string>;
    }
    const common = {
      ...cleanEnv(),
      TEMPORAL_NAMESPACE: 'default',
      TASKSD_CLUSTER_TOKEN: token,
      TASKSD_TASK_QUEUE: taskQueue,
    };
    topology.agentEnv = { ...common, TEMPORAL_ADDRESS: temporalForAgents, TASKSD_CATALOG: catalogForAgents, TASKSD_DATA: path.join(root, 'agent-scratch') };
    topology.cliEnv = { ...common, TEMPORAL_ADDRESS: suite().server.address, TASKSD_CATALOG: catalogUrl, TASKSD_DATA: path.join(root, 'cli-scratch') };

    topology.coordinator = await startEmbeddedCluster({
      cluster: topology.cluster,
      connection: suite().workerConnection,
      client: suite().client,
      taskQueue,
      workflowBundle: suite().bundle,
      token,
    });
    topology.migrations = new MigrationClient(suite().client, taskQueue, undefined, topology.clusterId);
    const t = topology as Topology;
    await Promise.all(NODES.map((id) => startAgent(t, id)));
    return t;
  } catch (err) {
    await teardown(topology);
    throw err;
  }
}

/** Starts `tasksd node serve <id>` on its host and waits for its "serving" line. */
async function startAgent(t: Topology, id: NodeId, options: { dir?: string; args?: string[] } = {}): Promise<AgentProcess> {
  const started = Date.now();
  const agent = await startAgentProcess({
    nodeId: id,
    dir: options.dir ?? t.dirs[id],
    listen: t.listen[id],
    env: t.agentEnv,
    host: t.hosts[id],
    args: options.args,
  });
  t.spawned.push(agent);
  t.agents[id] = agent;
  console.log(`      ${id} serving after ${Date.now() - started} ms (${t.hosts[id] ? `namespace ${t.hosts[id]!.namespace}` : 'loopback'}, ${t.listen[id]})`);
  return agent;
}

async function teardown(t: Partial<Topology>): Promise<void> {
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown> | undefined) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
    }
  };
  await attempt('agents', () => Promise.all((t.spawned ?? []).map((agent) => agent.kill())));
  await attempt('coordinator', () => t.coordinator?.stop());
  await attempt('network', () => t.network?.close());
  await attempt('catalog', () => t.cluster?.close());
  if (t.databaseName) {
    await attempt('database', async () => {
      const admin = new PgClient({ connectionString: postgres().adminUrl });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${t.databaseName!.replace(/"/g, '""')}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    });
  }
  if (t.root && !process.env.KEEP_TEST_FILES) fs.rmSync(t.root, { recursive: true, force: true });
  if (problems.length) throw new Error(`tearing down the multi-host topology:\n${problems.join('\n')}`);
}

/** `tasksd …` from the root namespace with the cluster's environment; JSON output parsed when asked. */
async function cli(t: Topology, args: string[]): Promise<Run> {
  return tasksd(args, t.cliEnv);
}

async function cliJson<T>(t: Topology, args: string[]): Promise<T> {
  const result = await cli(t, [...args, '--json']);
  assert.equal(result.code, 0, `tasksd ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

interface ShardRow {
  org: string;
  ns: string;
  owner: string;
  lockedBy: string | null;
  claimedBy: string | null;
  seq: number | null;
  rows: number | null;
  error?: string;
}

async function shardRow(t: Topology): Promise<ShardRow> {
  const rows = await cliJson<ShardRow[]>(t, ['shards']);
  const row = rows.find((r) => r.org === ORG && r.ns === NS);
  assert.ok(row, `tasksd shards lists ${ORG}/${NS}: ${JSON.stringify(rows)}`);
  return row;
}

/** A shard on node-a, made through the real CLI, with `rows` rows of ROW_BYTES. */
async function createLoadedShard(t: Topology, rows = ROWS): Promise<ShardRow> {
  await cliJson(t, ['shard', 'create', '--org', ORG, '--namespace', NS, '--node', 'node-a']);
  await cliJson(t, ['load', '--org', ORG, '--namespace', NS, '--rows', String(rows), '--row-bytes', String(ROW_BYTES)]);
  const row = await shardRow(t);
  assert.deepEqual([row.owner, row.rows, row.lockedBy, row.claimedBy], ['node-a', rows, null, null]);
  return row;
}

/** Shard files (and their -wal/-shm/.incoming companions) in a node's directory. */
function shardFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((name) => name.startsWith(`${ORG}.${NS}.db`)).sort();
}

/** One look at a running job's copy: from the client's snapshot (heartbeat) and the pending activity's attempt. */
interface CopySample {
  at: number;
  status: string;
  bytesCopied?: number;
  totalBytes?: number;
  attempt?: number;
}

/**
 * Records the copy's heartbeat progress as the client reports it (snapshot()), with the
 * copy activity's attempt, until the job ends; `until` awaits a sample that satisfies a
 * condition.
 */
class CopyWatcher {
  readonly samples: CopySample[] = [];
  private waiters = new Set<() => void>();
  private stopped = false;
  readonly done: Promise<void>;

  constructor(
    private readonly t: Topology,
    readonly jobId: string,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    const handle = suite().client.workflow.getHandle(this.jobId);
    while (!this.stopped) {
      try {
        const [snap, description] = await Promise.all([this.t.migrations.snapshot(this.jobId), handle.describe()]);
        const copy = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'checkpointAndCopy');
        const progress: CopyHeartbeat | undefined = snap.progress;
        this.samples.push({ at: Date.now(), status: snap.status, bytesCopied: progress?.bytesCopied, totalBytes: progress?.totalBytes, attempt: copy?.attempt ?? undefined });
        if (snap.status === 'released' || snap.status === 'failed') this.stopped = true;
      } catch {
        // a look that failed (the server busy): the next one counts
      }
      for (const waiter of [...this.waiters]) waiter();
      if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, 150));
    }
    for (const waiter of [...this.waiters]) waiter();
  }

  until(what: string, predicate: (s: CopySample) => boolean, timeoutMs = 30_000): Promise<CopySample> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.samples.find(predicate);
        if (hit) return finish(undefined, hit);
        if (this.stopped) return finish(new Error(`the job ended before ${what}; samples: ${this.describe()}`));
      };
      const finish = (err?: Error, hit?: CopySample) => {
        this.waiters.delete(check);
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(hit!);
      };
      const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; samples: ${this.describe()}`)), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Samples from `since` on. */
  after(since: number): CopySample[] {
    return this.samples.filter((s) => s.at >= since);
  }

  describe(): string {
    const start = this.samples[0]?.at ?? 0;
    let previous = '';
    const shown: string[] = [];
    for (const s of this.samples) {
      if (s.bytesCopied === undefined) continue;
      const key = `#${s.attempt ?? '-'}:${mib(s.bytesCopied)}`;
      if (key !== previous) shown.push(`${((s.at - start) / 1000).toFixed(1)}s ${key}`);
      previous = key;
    }
    return shown.join(', ');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

/**
 * Starts an offline move of the shard to node-b and watches its copy, which takes about
 * 7 s. On test hosts the link out of node-a is shaped to COPY_RATE, so the copy is paced
 * by the wire as over a slow network, and little of the snapshot is in flight at any
 * moment: a kernel's socket buffers (tcp_rmem allows tens of MiB) would otherwise take
 * in the whole snapshot at once, and a cut link or a killed source would interrupt
 * nothing. On loopback ports the move's own rate cap (--max-rate) paces it instead.
 */
async function startMove(t: Topology): Promise<CopyWatcher> {
  const source = t.hosts['node-a'];
  if (source) await source.shape({ rateBytesPerSec: COPY_RATE });
  const id = await t.migrations.start({ org: ORG, ns: NS, to: 'node-b', ...(source ? {} : { maxBytesPerSecond: COPY_RATE }) });
  return new CopyWatcher(t, id);
}

/** The job ended released; node-b owns the shard at epoch 2, every row is there, node-a's file is gone. */
async function assertReleasedOnB(t: Topology, job: Job, rows: number): Promise<void> {
  assert.equal(job.status, 'released', `job ${job.id} ended ${job.status}: ${job.errorType ?? ''} ${job.error ?? ''}`);
  const record = await t.cluster.catalog.shard(ORG, NS);
  assert.deepEqual([record.owner, record.jobId, record.epoch], ['node-b', null, 2], 'catalog: owner node-b, claim released, epoch bumped once');
  const row = await shardRow(t);
  assert.deepEqual([row.owner, row.rows, row.lockedBy, row.claimedBy, row.error], ['node-b', rows, null, null, undefined]);
  for (const n of [0, Math.floor(rows / 2), rows - 1]) {
    const task = await cliJson<{ id: string; title: string }>(t, ['get', '--org', ORG, '--namespace', NS, '--id', `row-${n}`]);
    assert.equal(task.title, `row ${n}`);
  }
  assert.deepEqual(shardFiles(t.dirs['node-a']), [], "node-a's copy is retired and removed");
  assert.deepEqual(shardFiles(t.dirs['node-b']).filter((f) => !/-(wal|shm)$/.test(f)), [SHARD_FILE], 'node-b holds the shard and no .incoming');
}

describe('multi-host: node agents as separate processes on separate test hosts (issue 12)', function () {
  this.timeout(120_000);
  let t: Topology | undefined;

  before(async function () {
    const available = process.env.TASKSD_TEST_LOOPBACK === '1' ? { ok: false as const, reason: 'TASKSD_TEST_LOOPBACK=1 asks for loopback ports' } : await netnsAvailable();
    placement = available.ok ? { netns: true } : { netns: false, reason: available.reason };
    if (placement.netns) console.log('      test hosts: one network namespace per agent on a bridge');
    else console.log(`      test hosts: NO network namespaces (${placement.reason}); agents run on loopback ports of this host`);
  });

  beforeEach(async function () {
    this.timeout(90_000);
    t = await buildTopology();
  });

  afterEach(async function () {
    this.timeout(60_000);
    const current = t;
    t = undefined;
    if ((this.currentTest?.state === 'failed' || process.env.MULTI_HOST_SHOW_OUTPUT) && current) {
      for (const agent of current.spawned) console.log(`      --- output of ${agent.nodeId} (${agent.dir}):\n${agent.output()}`);
    }
    if (current) await teardown(current);
  });

  it("the link to node-b is cut mid-copy and restored: the copy resumes from its offset, the job ends released, every row on node-b", async function () {
    if (!placement.netns) {
      const reason = `cutting a link needs test hosts in network namespaces, unavailable here: ${placement.reason}`;
      if (ci()) assert.fail(`CI runs as root and must have network namespaces, but: ${reason}`);
      console.log(`      NOT RUN: ${reason}`);
      this.skip();
    }
    const topology = t!;
    await createLoadedShard(topology);
    const watcher = await startMove(topology);
    try {
      const beforeCut = await watcher.until('1 MiB copied', (s) => s.status === 'copying' && (s.bytesCopied ?? 0) >= 1024 * 1024);
      const cutAt = Date.now();
      await topology.hosts['node-b']!.cutLink();
      let restoredAt: number;
      try {
        // node-b can reach neither node-a nor Temporal: its heartbeats stop, and after the
        // 10 s heartbeat timeout the server gives the copy to a new attempt (an event we
        // await in the pending activity, not a sleep).
        const retried = await watcher.until('a second attempt of the copy', (s) => (s.attempt ?? 0) >= 2, 30_000);
        console.log(`      cut at ${mib(beforeCut.bytesCopied!)} of ${mib(beforeCut.totalBytes!)}; attempt ${retried.attempt} scheduled ${Date.now() - cutAt} ms after the cut`);
      } finally {
        restoredAt = Date.now();
        await topology.hosts['node-b']!.restoreLink();
      }
      const lastBeforeRestore = Math.max(...watcher.samples.filter((s) => s.at < restoredAt && s.bytesCopied !== undefined).map((s) => s.bytesCopied!));
      const job = await topology.migrations.result(watcher.jobId);
      await watcher.stop();
      console.log(`      link down ${restoredAt - cutAt} ms; job ${job.status} ${Date.now() - restoredAt} ms after the restore; samples: ${watcher.describe()}`);

      // Resumed, not restarted: after the restore no heartbeat of the copy went back below
      // what it had before the cut, and the attempt that finished was a retry.
      const afterRestore = watcher.after(restoredAt).filter((s) => s.bytesCopied !== undefined);
      assert.ok(afterRestore.length > 0, `no copy progress seen after the restore: ${watcher.describe()}`);
      const lowest = Math.min(...afterRestore.map((s) => s.bytesCopied!));
      assert.ok(lowest >= beforeCut.bytesCopied!, `the copy went back to ${lowest} bytes after the restore, below the ${beforeCut.bytesCopied} it had before the cut: ${watcher.describe()}`);
      assert.ok(lastBeforeRestore >= beforeCut.bytesCopied!);
      assert.ok(afterRestore.some((s) => (s.attempt ?? 0) >= 2), `the copy was not retried after the cut: ${watcher.describe()}`);
      assert.doesNotMatch(topology.agents['node-b']!.output(), /starts over from byte 0/);
      assert.equal(job.bytes, beforeCut.totalBytes, 'the job counts the whole snapshot');
      await assertReleasedOnB(topology, job, ROWS);
    } finally {
      await watcher.stop();
    }
  });

  it('the source agent is SIGKILLed mid-copy and restarted (same id, dir, listen): the copy resumes, the job ends released', async function () {
    const topology = t!;
    await createLoadedShard(topology);
    const watcher = await startMove(topology);
    try {
      const beforeKill = await watcher.until('1 MiB copied', (s) => s.status === 'copying' && (s.bytesCopied ?? 0) >= 1024 * 1024);
      const killedAt = Date.now();
      await topology.agents['node-a']!.kill();
      await startAgent(topology, 'node-a');
      const restartedAt = Date.now();
      const job = await topology.migrations.result(watcher.jobId);
      await watcher.stop();
      console.log(`      killed node-a at ${mib(beforeKill.bytesCopied!)} of ${mib(beforeKill.totalBytes!)}; back ${restartedAt - killedAt} ms later; job ${job.status} after ${Date.now() - restartedAt} ms more; samples: ${watcher.describe()}`);

      // Offline, the locked snapshot a restarted source pins is the same one: the copy
      // goes on from its offset (never below where it was), and never starts over.
      const afterKill = watcher.after(killedAt).filter((s) => s.bytesCopied !== undefined);
      const lowest = Math.min(...afterKill.map((s) => s.bytesCopied!));
      assert.ok(lowest >= beforeKill.bytesCopied!, `the copy went back to ${lowest} bytes after the kill, below ${beforeKill.bytesCopied}: ${watcher.describe()}`);
      assert.ok(afterKill.some((s) => (s.attempt ?? 0) >= 2), `the copy was not retried after the kill: ${watcher.describe()}`);
      assert.doesNotMatch(topology.agents['node-b']!.output(), /starts over from byte 0/);
      assert.equal(job.bytes, beforeKill.totalBytes);
      await assertReleasedOnB(topology, job, ROWS);
    } finally {
      await watcher.stop();
    }
  });

  it('the destination agent dies mid-copy and stays away past 60 s: the job rolls back; node-b back sweeps its leftovers itself', async function () {
    this.timeout(240_000);
    const topology = t!;
    const created = await createLoadedShard(topology);
    const watcher = await startMove(topology);
    let job: Job;
    try {
      const beforeKill = await watcher.until('1 MiB copied', (s) => s.status === 'copying' && (s.bytesCopied ?? 0) >= 1024 * 1024);
      const killedAt = Date.now();
      await topology.agents['node-b']!.kill();
      const leftovers = shardFiles(topology.dirs['node-b']);
      assert.ok(leftovers.includes(`${SHARD_FILE}.incoming`), `node-b's partial copy is there after the kill: ${leftovers.join(', ')}`);
      job = await topology.migrations.result(watcher.jobId);
      console.log(`      killed node-b at ${mib(beforeKill.bytesCopied!)}; job ${job.status} ${Date.now() - killedAt} ms later: ${job.errorType}: ${job.error}`);
    } finally {
      await watcher.stop();
    }
    assert.equal(job.status, 'failed', 'the move rolls back without its destination');
    assert.equal(job.error?.split('\n').length, 1, `one line: ${job.error}`);

    // Source unlocked, owning and writable; the claim released; the epoch untouched.
    const record = await topology.cluster.catalog.shard(ORG, NS);
    assert.deepEqual([record.owner, record.jobId, record.epoch], ['node-a', null, 1]);
    const put = await cliJson<{ id: string; seq: number }>(topology, ['put', '--org', ORG, '--namespace', NS, '--id', 'after-rollback', '--title', 'written after the rollback']);
    assert.ok(put.seq > created.seq!, 'the write took a new seq');
    const row = await shardRow(topology);
    assert.deepEqual([row.owner, row.lockedBy, row.claimedBy, row.rows], ['node-a', null, null, ROWS + 1]);
    assert.deepEqual(shardFiles(topology.dirs['node-a']).filter((f) => !/-(wal|shm)$/.test(f)), [SHARD_FILE]);
    // node-b is still down: what it left is still there, for it to sweep.
    assert.ok(shardFiles(topology.dirs['node-b']).includes(`${SHARD_FILE}.incoming`));

    // node-b returns (same id, dir, listen): with no operator action its sweep removes the leftovers.
    await startAgent(topology, 'node-b');
    await eventually('node-b to remove its leftover copy', () => (shardFiles(topology.dirs['node-b']).length === 0 ? true : undefined), 30_000);
    assert.match(topology.agents['node-b']!.output(), /removed what moves left behind: .*acme\.default\.db\.incoming/);
    // And the rolled-back shard still reads on node-a.
    const task = await cliJson<{ title: string }>(topology, ['get', '--org', ORG, '--namespace', NS, '--id', 'after-rollback']);
    assert.equal(task.title, 'written after the rollback');

    // A failed Job carries its stable type (docs/ERRORS.md) and a reason an operator can act on.
    assert.equal(job.errorType, 'NodeUnreachable', `got ${job.errorType} with "${job.error}"`);
    assert.match(job.error ?? '', /^node node-b did not take its step \w+ of the move of .*; the move was rolled back: node-a still owns the shard, writable/);
  });

  it('an agent restarted on another DIR under the same id is refused with one line naming the registered URL and dir; --replace takes the id over', async function () {
    const topology = t!;
    const node = await topology.cluster.catalog.node('node-b');
    assert.deepEqual([node.dir, node.url], [topology.dirs['node-b'], `http://${topology.listen['node-b']}`]);
    const stopped = await topology.agents['node-b']!.stop();
    assert.equal(stopped.code, 0, `SIGTERM drains node-b and it exits 0: ${topology.agents['node-b']!.output()}`);

    const otherDir = path.join(topology.root, 'hosts', 'node-b', 'elsewhere');
    const refused = spawnAgentProcess({ nodeId: 'node-b', dir: otherDir, listen: topology.listen['node-b'], env: topology.agentEnv, host: topology.hosts['node-b'] });
    topology.spawned.push(refused);
    const exit = await Promise.race([
      refused.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the refused agent did not exit in 60 s:\n${refused.output()}`)), 60_000)),
    ]);
    const lines = refused.output().trim().split('\n');
    console.log(`      refused (exit ${exit.code}): ${lines.join(' | ')}`);
    assert.notEqual(exit.code, 0);
    assert.equal(lines.length, 1, `exactly one line: ${refused.output()}`);
    assert.match(lines[0], /^tasksd: /);
    assert.ok(lines[0].includes(`http://${topology.listen['node-b']}`), 'names the registered URL');
    assert.ok(lines[0].includes(topology.dirs['node-b']), 'names the registered directory');
    assert.match(lines[0], /--replace/);
    assert.doesNotMatch(refused.output(), /serving/);
    // The catalog still names the old registration.
    assert.deepEqual((await topology.cluster.catalog.node('node-b')).dir, topology.dirs['node-b']);

    await startAgent(topology, 'node-b', { dir: otherDir, args: ['--replace'] });
    const replaced = await topology.cluster.catalog.node('node-b');
    assert.deepEqual([replaced.dir, replaced.url, replaced.kind], [otherDir, `http://${topology.listen['node-b']}`, 'agent']);
    const health = await fetch(`http://${topology.listen['node-b']}/v1/health`, { headers: { authorization: `Bearer ${topology.token}` } });
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { node: 'node-b', dir: otherDir, cluster: topology.clusterId });
    // The node serves from its new directory: a shard created there lands in it.
    await cliJson(topology, ['shard', 'create', '--org', ORG, '--namespace', NS, '--node', 'node-b']);
    assert.deepEqual(shardFiles(otherDir).filter((f) => !/-(wal|shm)$/.test(f)), [SHARD_FILE]);
    assert.deepEqual(shardFiles(topology.dirs['node-b']), []);
  });

  it('calls to a real agent without the token, or with a wrong one, get 401 and change nothing', async function () {
    const topology = t!;
    const shard = await createLoadedShard(topology, 50);
    const base = `http://${topology.listen['node-a']}/v1/shards/${ORG}/${NS}`;
    const good = { authorization: `Bearer ${topology.token}` };
    const filesBefore = shardFiles(topology.dirs['node-a']);
    // A pin the cluster holds, which an intruder's DELETE must not release.
    const held = await fetch(`${base}/snapshots/held-by-the-cluster`, { method: 'POST', headers: { ...good, 'content-type': 'application/json' }, body: '{"mode":"online"}' });
    assert.equal(held.status, 200, await held.clone().text());

    const badHeaders: Array<[string, Record<string, string>]> = [
      ['no token', {}],
      ['a wrong token', { authorization: `Bearer ${randomBytes(24).toString('hex')}` }],
      ['the token without Bearer', { authorization: topology.token }],
    ];
    const calls: Array<[string, string, string | undefined]> = [
      ['PUT', `${base}/tasks/intruder`, JSON.stringify({ title: 'should not land' })],
      ['POST', `${base}/tasks`, JSON.stringify({ tasks: [{ id: 'intruder-2', title: 'nor this' }] })],
      ['POST', `${base}/snapshots/intruder-pin`, JSON.stringify({ mode: 'online' })],
      ['DELETE', `${base}/snapshots/held-by-the-cluster`, undefined],
      ['POST', `http://${topology.listen['node-a']}/v1/shards/${ORG}/other`, '{}'],
      ['GET', `${base}/tasks/row-0`, undefined],
      ['GET', `http://${topology.listen['node-a']}/v1/no-such-path`, undefined],
    ];
    for (const [label, headers] of badHeaders) {
      for (const [method, url, body] of calls) {
        const res = await fetch(url, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, body });
        const text = await res.text();
        assert.equal(res.status, 401, `${method} ${url} with ${label}: ${res.status} ${text}`);
        assert.equal(JSON.parse(text).error, 'Unauthorized');
        assert.doesNotMatch(text, /row 0/, 'a refused read shows no data');
      }
    }

    // Nothing changed: rows and seq, the tasks, the pins, the files.
    const after = await shardRow(topology);
    assert.deepEqual([after.rows, after.seq, after.lockedBy], [shard.rows, shard.seq, null]);
    const intruder = await cli(topology, ['get', '--org', ORG, '--namespace', NS, '--id', 'intruder']);
    assert.notEqual(intruder.code, 0, 'the refused PUT wrote nothing');
    assert.match(intruder.stderr, /not found/);
    assert.notEqual((await cli(topology, ['get', '--org', ORG, '--namespace', NS, '--id', 'intruder-2'])).code, 0);
    const unpinIntruder = await fetch(`${base}/snapshots/intruder-pin`, { method: 'DELETE', headers: good });
    assert.deepEqual(await unpinIntruder.json(), { unpinned: false }, 'the refused POST pinned nothing');
    const unpinHeld = await fetch(`${base}/snapshots/held-by-the-cluster`, { method: 'DELETE', headers: good });
    assert.deepEqual(await unpinHeld.json(), { unpinned: true }, 'the refused DELETEs released nothing');
    assert.deepEqual(shardFiles(topology.dirs['node-a']), filesBefore);
    assert.equal(await topology.cluster.catalog.findShard(ORG, 'other'), undefined);
    assert.ok(!fs.existsSync(path.join(topology.dirs['node-a'], `${ORG}.other.db`)), 'the refused POST made no shard file');

    // The CLI with a wrong token is refused the same way, with one line, and changes nothing.
    const wrong = await tasksd(['put', '--org', ORG, '--namespace', NS, '--id', 'intruder-3', '--title', 'no'], { ...topology.cliEnv, TASKSD_CLUSTER_TOKEN: randomBytes(24).toString('hex') });
    assert.notEqual(wrong.code, 0);
    assert.equal(wrong.stderr.trim().split('\n').length, 1, wrong.stderr);
    assert.match(wrong.stderr, /401/);
    const final = await shardRow(topology);
    assert.deepEqual([final.rows, final.seq], [shard.rows, shard.seq]);
  });
});
