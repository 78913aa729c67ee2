// Issue 13, item 2: the kill matrix. Three real processes — the coordinator (`npm
// start`'s worker.ts) and two node agents (`tasksd node serve`) — each started with
// TASKSD_FAULTS=1 and holds armed per job. Each round is one mode × one process to
// kill: a move per fault point (test/faults/matrix.ts) starts with a writer on its
// shard, parks at its point (rollback cells are cancelled once their copy is
// installed, then park at their rollback point), and when every move is parked the
// round's process is SIGKILLed and started again, and the moves are let go. Every
// move must then end as the contract says (released; rolled back when cancelled),
// with every acknowledged write on the final owner and no refused write applied, one
// owner, no lock, no claim, no stray file, and after a rollback the source's content
// checksum and seq as they were before the move (offline plus the unlock frame).
//
// The matrix with its counts is printed at the end; the README's crash table is the
// rendering of what it proved, checked here (TASKSD_UPDATE_README=1 rewrites it).
import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MigrationClient } from '../../client';
import { ErrorType } from '../../common/errors';
import type { Job } from '../../common/job';
import { checkWrites } from '../../loadgen/check';
import { WriteLog } from '../../loadgen/log';
import { isRetryable } from '../../loadgen/writer';
import { startWriteLoop, type WriteLoop } from '../../loadgen/write-loop';
import { Cluster } from '../../store/cluster';
import { shardFile } from '../../store/layout';
import { LocalReplicator } from '../../store/local-replicator';
import { PROJECT_ROOT } from '../../temporal/cli-binary';
import { freePort } from '../../temporal/dev-server';
import { startAgentProcess, type AgentProcess } from '../support/agent-process';
import { Faults, type Observed } from '../support/faults';
import { suite } from '../support/root-hooks';
import { imageOf, type ShardImage } from '../support/shard-image';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';
import {
  MODES,
  README_END,
  README_START,
  ROLES,
  ROLLBACK_TRIGGER,
  pointsFor,
  printMatrix,
  readmeTable,
  withReadmeTable,
  type CellResult,
  type Mode,
  type PointSpec,
  type Role,
} from './matrix';

const ORG = 'km';
/** Small shards: the matrix proves where a kill lands, not how long a copy takes. */
const ROWS = 200;
const ROW_BYTES = 256;
/** Each shard's writer: puts per second and distinct keys. */
const WRITE_RATE = 3;
const WRITE_KEYS = 20;
/** A move that has not ended this long after its release is reported stuck. */
const END_WITHIN_MS = 240_000;

interface Topology {
  root: string;
  cluster: Cluster;
  replicator: LocalReplicator;
  faults: Faults;
  taskQueue: string;
  migrations: MigrationClient;
  processes: Record<Role, WorkerProcess | AgentProcess>;
  restart: Record<Role, () => Promise<WorkerProcess | AgentProcess>>;
  dirs: { source: string; destination: string };
}

interface Cell {
  spec: PointSpec;
  mode: Mode;
  victim: Role;
  ns: string;
  jobId: string;
  log: string;
  writer?: WriteLoop;
  /** Rollback cells: the source when the cancel came. */
  before?: ShardImage;
}

describe('the kill matrix (issue 13): SIGKILL each process at every point, writers running', function () {
  this.timeout(900_000);
  let t: Topology;
  const results: CellResult[] = [];

  before(async function () {
    this.timeout(180_000);
    t = await buildTopology();
  });
  after(async function () {
    this.timeout(60_000);
    if (results.length) console.log(`\n${printMatrix(results)}\n`);
    if (!t) return;
    await Promise.all(Object.values(t.processes).map((p) => p.kill()));
    await t.cluster.close();
    t.faults.cleanup();
    if (!process.env.KEEP_TEST_FILES) fs.rmSync(t.root, { recursive: true, force: true });
  });

  for (const mode of MODES) {
    for (const victim of ROLES) {
      it(`${mode}: the ${victim} is killed with a move parked at each point`, async () => {
        const round = await runRound(t, mode, victim);
        results.push(...round);
        const failed = round.filter((r) => r.problems.length > 0);
        assert.deepEqual(
          failed.map((r) => `${r.spec.kind} ${r.spec.point} (job ${r.jobId}): ${r.problems.join('; ')}`),
          [],
          `${failed.length} of ${round.length} cells failed`,
        );
      });
    }
  }

  it("the README's crash table is what the matrix proved", () => {
    const expected = MODES.reduce((n, mode) => n + pointsFor(mode).length * ROLES.length, 0);
    assert.equal(results.filter((r) => r.problems.length === 0).length, expected, 'every cell of the matrix passed');
    const readmePath = path.join(PROJECT_ROOT, 'README.md');
    const readme = fs.readFileSync(readmePath, 'utf8');
    const regenerated = withReadmeTable(readme, readmeTable(results));
    if (process.env.TASKSD_UPDATE_README === '1') fs.writeFileSync(readmePath, regenerated);
    else assert.equal(readme, regenerated, `README.md's table between ${README_START} and ${README_END} is stale: run TASKSD_UPDATE_README=1 npm run test:faults`);
  });
});

async function buildTopology(): Promise<Topology> {
  const root = fs.mkdtempSync(path.join(suite().scratch, 'kill-matrix-'));
  const token = randomBytes(24).toString('hex');
  const taskQueue = `kill-matrix-${randomUUID()}`;
  const faults = new Faults();
  const cluster = await Cluster.open(root, { catalog: `sqlite:${path.join(root, 'catalog.db')}` });
  const dirs = { source: path.join(root, 'hosts', 'node-a'), destination: path.join(root, 'hosts', 'node-b') };
  const faultEnv = faults.env({ TASKSD_TEST_ARMED_HOLDS: '1' });
  const address = suite().server.address;
  const agentEnv: NodeJS.ProcessEnv = {
    ...withoutTasksdSettings(),
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: 'default',
    TASKSD_TASK_QUEUE: taskQueue,
    TASKSD_DATA: root,
    TASKSD_CATALOG: `sqlite:${path.join(root, 'catalog.db')}`,
    TASKSD_CLUSTER_TOKEN: token,
    ...faultEnv,
  };
  const ports = { source: await freePort(), destination: await freePort() };
  const agent = (role: 'source' | 'destination') => () =>
    startAgentProcess({ nodeId: role === 'source' ? 'node-a' : 'node-b', dir: dirs[role], listen: `127.0.0.1:${ports[role]}`, env: agentEnv });
  const coordinator = () =>
    startWorkerProcess({ address, dataRoot: root, taskQueue, extra: { ...withoutTasksdSettings(), TASKSD_CLUSTER_TOKEN: token, ...faultEnv } });
  const restart = { coordinator, source: agent('source'), destination: agent('destination') };
  const processes = {} as Topology['processes'];
  try {
    // Agents first: they register their nodes, which the coordinator then finds as agents, not embedded nodes.
    processes.source = await restart.source();
    processes.destination = await restart.destination();
    processes.coordinator = await restart.coordinator();
    for (const [role, proc] of Object.entries(processes)) {
      assert.match(proc.output(), /fault injection ENABLED/, `${role} runs with fault injection`);
    }
  } catch (err) {
    await Promise.all(Object.values(processes).map((p) => p.kill()));
    await cluster.close();
    throw err;
  }
  const migrations = new MigrationClient(suite().client, taskQueue, undefined, cluster.catalog.clusterId);
  return { root, cluster, replicator: new LocalReplicator(cluster), faults, taskQueue, migrations, processes, restart, dirs };
}

/** The test's environment without tasksd or Temporal settings of the developer's shell. */
function withoutTasksdSettings(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TASKSD_|TEMPORAL_)/.test(k)));
}

async function runRound(t: Topology, mode: Mode, victim: Role): Promise<CellResult[]> {
  const round = `${mode.slice(0, 3)}-${victim.slice(0, 1)}`;
  const logDir = fs.mkdtempSync(path.join(t.root, `writes-${round}-`));
  const cells: Cell[] = pointsFor(mode).map((spec, i) => {
    const ns = `${round}-${String(i).padStart(2, '0')}`;
    return { spec, mode, victim, ns, jobId: `km-${ns}-${randomUUID().slice(0, 8)}`, log: path.join(logDir, `${ns}.jsonl`) };
  });
  const problems = new Map(cells.map((c) => [c, [] as string[]]));
  const observed = (): Observed[] => Object.values(t.processes);

  for (const cell of cells) {
    await seed(t, cell.ns);
    if (cell.spec.kind === 'rollback') t.faults.arm(ROLLBACK_TRIGGER, cell.jobId);
    t.faults.arm(cell.spec.point, cell.jobId);
    const log = new WriteLog(cell.log);
    cell.writer = startWriteLoop({
      writerId: cell.ns,
      org: ORG,
      ns: cell.ns,
      rate: WRITE_RATE,
      keys: WRITE_KEYS,
      giveUpMs: 60_000,
      put: (task) => t.replicator.propose({ op: 'put', org: ORG, ns: cell.ns, task }),
      retryable: isRetryable,
      log,
    });
    void cell.writer.done.finally(() => log.close());
  }
  try {
    // Every move parked at its point.
    await Promise.all(
      cells.map(async (cell) => {
        await t.migrations.start({ org: ORG, ns: cell.ns, to: 'node-b', mode }, { jobId: cell.jobId, claimTimeoutMs: 0 });
        if (cell.spec.kind === 'rollback') {
          await t.faults.holdingJob(observed(), ROLLBACK_TRIGGER, cell.jobId);
          // The source's image is taken with no writer left, so "unchanged" is exact.
          await cell.writer!.stop();
          cell.before = imageOf(shardFile(t.dirs.source, ORG, cell.ns));
          await t.migrations.cancel(cell.jobId);
        }
        await t.faults.holdingJob(observed(), cell.spec.point, cell.jobId);
      }),
    );
    // The kill, the restart, and every move let go.
    await t.processes[victim].kill();
    t.processes[victim] = await t.restart[victim]();
    for (const cell of cells) {
      t.faults.releaseJob(cell.spec.point, cell.jobId);
      if (cell.spec.kind === 'rollback') t.faults.releaseJob(ROLLBACK_TRIGGER, cell.jobId);
    }
    const jobs = await Promise.all(cells.map((cell) => endOf(t, cell)));
    await Promise.all(cells.map((cell) => cell.writer!.stop()));
    return await Promise.all(cells.map((cell, i) => verify(t, cell, jobs[i], problems.get(cell)!)));
  } finally {
    await Promise.all(cells.map((cell) => cell.writer?.stop()));
  }
}

async function seed(t: Topology, ns: string): Promise<void> {
  await t.cluster.createShard(ORG, ns, 'node-a');
  const rows = Array.from({ length: ROWS }, (_, i) => ({ id: `t${String(i).padStart(5, '0')}`, title: `task ${i}`, body: Buffer.alloc(ROW_BYTES, i % 251) }));
  await t.replicator.putMany(ORG, ns, rows);
}

async function endOf(t: Topology, cell: Cell): Promise<Job | string> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`did not end within ${END_WITHIN_MS / 1000} s`), END_WITHIN_MS)));
  try {
    return await Promise.race([t.migrations.result(cell.jobId), stuck]);
  } finally {
    clearTimeout(timer);
  }
}

async function verify(t: Topology, cell: Cell, job: Job | string, problems: string[]): Promise<CellResult> {
  const rollback = cell.spec.kind === 'rollback';
  const expectOwner = rollback ? 'node-a' : 'node-b';
  let outcome: string;
  if (typeof job === 'string') outcome = job;
  else if (job.status === 'released') outcome = 'released';
  else if (job.status === 'failed' && job.errorType === ErrorType.Cancelled) outcome = 'rolled back';
  else outcome = `${job.status}${job.error ? `: ${job.error}` : ''}`;
  const expected = rollback ? 'rolled back' : 'released';
  if (outcome !== expected) problems.push(`ended ${outcome}, expected ${expected}`);

  const shard = await t.cluster.catalog.shard(ORG, cell.ns);
  if (shard.owner !== expectOwner) problems.push(`owner ${shard.owner}, expected ${expectOwner}`);
  if (shard.jobId !== null) problems.push(`still claimed by ${shard.jobId}`);

  // One owner: its file live and unlocked, nothing of the shard anywhere else.
  const ownerDir = expectOwner === 'node-a' ? t.dirs.source : t.dirs.destination;
  const otherDir = expectOwner === 'node-a' ? t.dirs.destination : t.dirs.source;
  const prefix = `${ORG}.${cell.ns}.`;
  const filesIn = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith(prefix)).sort() : []);
  const strayOnOwner = filesIn(ownerDir).filter((f) => !/\.db(-wal|-shm)?$/.test(f));
  if (strayOnOwner.length) problems.push(`stray files on ${expectOwner}: ${strayOnOwner.join(', ')}`);
  if (filesIn(otherDir).length) problems.push(`files left on the other node: ${filesIn(otherDir).join(', ')}`);
  const ownerFile = shardFile(ownerDir, ORG, cell.ns);
  let after: ShardImage | undefined;
  if (!fs.existsSync(ownerFile)) problems.push(`no shard file on ${expectOwner}`);
  else {
    after = imageOf(ownerFile);
    if (after.state.lockedBy !== null) problems.push(`still locked by ${after.state.lockedBy}`);
    if (after.state.state !== 'live') problems.push(`owner's file is ${after.state.state}`);
    if (after.state.epoch !== shard.epoch) problems.push(`owner's file at epoch ${after.state.epoch}, catalog at ${shard.epoch}`);
  }

  // The source after a rollback: as it was when the cancel came. Offline it was locked
  // then, and the rollback's unlock is one more frame of its seq.
  if (rollback && cell.before && after) {
    const unlockFrames = cell.before.state.lockedBy ? 1 : 0;
    const b = cell.before;
    if (after.state.seq !== b.state.seq + unlockFrames) problems.push(`source seq ${after.state.seq}, expected ${b.state.seq + unlockFrames}`);
    if (after.state.contentSum !== b.state.contentSum) problems.push('source content checksum changed');
    if (after.recomputed.sum !== b.recomputed.sum || after.recomputed.rows !== b.recomputed.rows) problems.push('source rows changed (recomputed checksum)');
    if (after.tasks !== b.tasks) problems.push('source rows differ byte-for-byte');
    if (after.changes !== b.changes) problems.push('source change log differs');
    if (after.state.epoch !== b.state.epoch) problems.push(`source epoch ${after.state.epoch}, was ${b.state.epoch}`);
  }

  const writes = await checkWrites({ dataRoot: t.root, catalog: `sqlite:${path.join(t.root, 'catalog.db')}`, org: ORG, ns: cell.ns, logs: [cell.log] });
  if (writes.lost || writes.phantom) problems.push(`${writes.lost} lost, ${writes.phantom} phantom: ${writes.problems.join('; ')}`);
  if (writes.acked === 0) problems.push('no write was acknowledged: the writer did not run');
  return { spec: cell.spec, mode: cell.mode, victim: cell.victim, jobId: cell.jobId, outcome, acked: writes.acked, refused: writes.refused, lost: writes.lost, phantom: writes.phantom, problems };
}
