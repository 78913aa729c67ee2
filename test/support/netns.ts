// Test hosts: each one a Linux network namespace with its own address, joined to the
// root namespace (where the test process runs) by a veth pair into a bridge this module
// creates. A test runs node agents as separate processes inside the hosts, cuts a host's
// link (`ip link set … down`) or shapes it (tc), and reaches the suite's loopback
// services (Temporal, PostgreSQL) through forwarders on the bridge address.
//
//   root namespace:  tsd-<run>-br  10.231.X.1/24  (+ forwarders to 127.0.0.1:<port>)
//                      ├─ tsd-<run>-h2 ══ eth0 10.231.X.2/24  namespace tsd-<run>-<name>
//                      └─ tsd-<run>-h3 ══ eth0 10.231.X.3/24  namespace tsd-<run>-<name>
//
// Traffic stays on those addresses: hosts reach each other through the bridge and the
// root namespace on its bridge address; their default route points at the bridge
// address, and this module never enables IP forwarding, so nothing leaves the machine.
//
// Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2; netnsAvailable() says
// whether this machine can, and why not. Everything carries the prefix `tsd-<run id>-`:
// close() removes it all, an exit handler removes what an unclosed network left when the
// process exits, and createTestNetwork() first removes what a crashed earlier run left
// (a run is alive while its marker under /run/tsd-netns names a living process).
import { execFile, execFileSync, spawn as spawnChild, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startTcpForwarder, type TcpForwarder } from './tcp-forward';

export type { TcpForwarder } from './tcp-forward';

export type NetnsAvailability = { ok: true; netem: boolean } | { ok: false; reason: string };

export interface ShapeOptions {
  /**
   * Bytes per second, enforced in each direction separately (token bucket, tc tbf). The
   * rate counts bytes on the wire, Ethernet/IP/TCP headers included, as a real link's
   * does: a TCP transfer's payload moves about 4 % slower (1448 of every 1514 bytes).
   */
  rateBytesPerSec: number;
  /** One-way delay added in each direction (so the round trip grows by 2×); needs sch_netem in the kernel. */
  delayMs?: number;
}

export interface ExecResult {
  /** The exit code, or -1 when the process was killed by a signal (a timeout: SIGKILL). */
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kills the process (SIGKILL) after this long; 30 s unless told. */
  timeoutMs?: number;
}

export interface TestHost {
  name: string;
  /** The network namespace, for `ip netns exec <namespace> …` or `ip -n <namespace> …`. */
  namespace: string;
  /** The host's address, e.g. 10.231.57.2 (its interface inside the namespace is `eth0`, a /24). */
  address: string;
  /** The root-namespace end of the host's veth pair, a port of the bridge. */
  hostInterface: string;
  /** Runs a command inside the namespace to its end. */
  exec(command: string, args?: string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * Starts a process inside the namespace. `ip netns exec` execs the command in place, so
   * the ChildProcess is the command itself: child.pid is its pid and child.kill('SIGKILL')
   * kills it. close() kills whatever is still running.
   */
  spawn(command: string, args?: string[], options?: SpawnOptions): ChildProcess;
  /** Takes the host's link down: every packet to or from the host is dropped until restoreLink(). */
  cutLink(): Promise<void>;
  restoreLink(): Promise<void>;
  /** Limits the link's rate (each direction) and optionally adds delay; replaces an earlier shape. */
  shape(options: ShapeOptions): Promise<void>;
  unshape(): Promise<void>;
}

export interface TestNetwork {
  runId: string;
  /** The root namespace's address on the bridge, e.g. 10.231.57.1 (a /24: `subnet`). */
  hostAddress: string;
  subnet: string;
  bridge: string;
  hosts(): TestHost[];
  /** A new namespace with the next free address of the subnet (.2, .3, …). */
  addHost(name: string): Promise<TestHost>;
  /**
   * Exposes a loopback service of the root namespace (`to`, 127.0.0.1 unless told) on
   * hostAddress, by the same port number when it is free there, or else `port`, or a free
   * one: use the forwarder's `address` (host:port) inside the hosts.
   */
  forward(targetPort: number, options?: { to?: string; port?: number }): Promise<TcpForwarder>;
  /** Kills what the hosts run, removes namespaces, veths and the bridge, stops the forwarders. Idempotent. */
  close(): Promise<void>;
}

const PREFIX = 'tsd-';
/** `tsd-<run id>-…`: the names this module makes; the run id is 4 of [a-z0-9]. */
const OWNED = /^tsd-([a-z0-9]{4})-/;
const MARKER_DIR = '/run/tsd-netns';
const SUBNET_BASE = '10.231';
const COMMAND_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------
// Running ip and tc

class CommandError extends Error {
  constructor(readonly command: string, readonly stderr: string, readonly code: number | string | null | undefined) {
    super(`${command} failed${code !== undefined && code !== null ? ` (${code})` : ''}: ${stderr.trim() || '(no output)'}`);
  }
}

function run(command: string, args: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new CommandError(`${command} ${args.join(' ')}`, stderr || err.message, (err as NodeJS.ErrnoException).code));
      else resolve(stdout);
    });
  });
}

const ip = (...args: string[]) => run('ip', args);
const tc = (...args: string[]) => run('tc', args);

/** The same, for the exit handler, which cannot wait for callbacks; errors are ignored. */
function runSync(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

function newRunId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(4)].map((b) => alphabet[b % alphabet.length]).join('');
}

// ---------------------------------------------------------------------------------------
// Run markers: /run/tsd-netns/<run id>.json names the process that owns a run's names.

interface Marker {
  pid: number;
  /** The process's start time (field 22 of /proc/<pid>/stat), so a reused pid does not count as alive. */
  started: string;
  octet?: number;
}

function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function writeMarker(runId: string, octet?: number): void {
  fs.mkdirSync(MARKER_DIR, { recursive: true });
  const marker: Marker = { pid: process.pid, started: processStart(process.pid) ?? '', octet };
  fs.writeFileSync(path.join(MARKER_DIR, `${runId}.json`), JSON.stringify(marker));
}

function removeMarker(runId: string): void {
  fs.rmSync(path.join(MARKER_DIR, `${runId}.json`), { force: true });
}

/** The runs whose owner is still alive, with their markers. */
function liveRuns(): Map<string, Marker> {
  const live = new Map<string, Marker>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(MARKER_DIR);
  } catch {
    return live;
  }
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const runId = name.slice(0, -'.json'.length);
    try {
      const marker = JSON.parse(fs.readFileSync(path.join(MARKER_DIR, name), 'utf8')) as Marker;
      if (marker.started && processStart(marker.pid) === marker.started) {
        live.set(runId, marker);
        continue;
      }
    } catch {
      // unreadable: stale
    }
    fs.rmSync(path.join(MARKER_DIR, name), { force: true });
  }
  return live;
}

// ---------------------------------------------------------------------------------------
// Listing and removing names

function parseNamespaces(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((name) => name && name.startsWith(PREFIX));
}

function parseLinks(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (match && match[1].startsWith(PREFIX)) names.push(match[1]);
  }
  return names;
}

/** Every `tsd-*` namespace and root-namespace link on the machine (any run's). */
export async function listTestNames(): Promise<{ namespaces: string[]; links: string[] }> {
  const [namespaces, links] = await Promise.all([ip('netns', 'list'), ip('-o', 'link', 'show')]);
  return { namespaces: parseNamespaces(namespaces), links: parseLinks(links) };
}

function pidsIn(namespaceText: string): number[] {
  return namespaceText
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid);
}

async function waitGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left = pids;
  while (left.length && Date.now() < deadline) {
    left = left.filter((pid) => fs.existsSync(`/proc/${pid}`) && !isZombie(pid));
    if (left.length) await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** SIGKILLs every process in a namespace (a process keeps a deleted namespace, and its veth, alive). */
async function killNamespaceProcesses(namespace: string): Promise<void> {
  const pids = pidsIn(await ip('netns', 'pids', namespace).catch(() => ''));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitGone(pids, 3_000);
}

/** Removes namespaces and links, in that order of safety: processes, links (veth pairs go at once), namespaces. */
async function removeNames(namespaces: string[], links: string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const namespace of namespaces) await killNamespaceProcesses(namespace);
  // Deleting one end of a veth pair deletes both, synchronously; a namespace's own teardown is asynchronous.
  for (const link of links.filter((name) => !name.endsWith('-br'))) {
    await ip('link', 'del', link).catch((err: CommandError) => {
      if (!/Cannot find device/.test(err.stderr)) problems.push(err.message);
    });
  }
  for (const namespace of namespaces) {
    await ip('netns', 'del', namespace).catch((err: CommandError) => {
      if (!/No such file/.test(err.stderr)) problems.push(err.message);
    });
  }
  for (const link of links.filter((name) => name.endsWith('-br'))) {
    await ip('link', 'del', link).catch((err: CommandError) => {
      if (!/Cannot find device/.test(err.stderr)) problems.push(err.message);
    });
  }
  return problems;
}

/**
 * Removes the `tsd-<run>-*` namespaces and links of runs whose process is gone (a crashed
 * or killed earlier run), and kills what still runs in those namespaces. Returns what it removed.
 */
export async function cleanupStaleTestNetworks(): Promise<{ namespaces: string[]; links: string[] }> {
  const live = liveRuns();
  const all = await listTestNames();
  const stale = (name: string) => {
    const match = OWNED.exec(name);
    return match !== null && !live.has(match[1]);
  };
  const namespaces = all.namespaces.filter(stale);
  const links = all.links.filter(stale);
  const problems = await removeNames(namespaces, links);
  if (problems.length) throw new Error(`could not remove stale test networks:\n${problems.join('\n')}`);
  return { namespaces, links };
}

// ---------------------------------------------------------------------------------------
// Availability

let availability: Promise<NetnsAvailability> | undefined;

/** Whether this machine can make test hosts (root, iproute2, namespaces, veth, bridge, tc tbf), and why not. Cached. */
export function netnsAvailable(): Promise<NetnsAvailability> {
  availability ??= probe();
  return availability;
}

async function probe(): Promise<NetnsAvailability> {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces are Linux only (this is ${process.platform})` };
  const uid = process.getuid?.();
  if (uid !== 0) return { ok: false, reason: `not root (uid ${uid}): making namespaces, veths and qdiscs needs CAP_NET_ADMIN and CAP_SYS_ADMIN` };
  try {
    await run('ip', ['-V']);
  } catch (err) {
    return { ok: false, reason: `iproute2's ip does not run: ${(err as Error).message}` };
  }
  const runId = newRunId();
  const namespace = `${PREFIX}${runId}-probe`;
  const bridge = `${PREFIX}${runId}-br`;
  const veth = `${PREFIX}${runId}-h0`;
  writeMarker(runId);
  const steps: Array<[string, () => Promise<unknown>]> = [
    ['ip netns add', () => ip('netns', 'add', namespace)],
    ['ip link add … type bridge', () => ip('link', 'add', bridge, 'type', 'bridge')],
    ['ip link add … type veth', () => ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace)],
    ['ip netns exec', () => ip('netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up')],
    ['tc qdisc add … tbf', () => tc('qdisc', 'add', 'dev', veth, 'root', 'tbf', 'rate', '8mbit', 'burst', '64kb', 'latency', '100ms')],
  ];
  let result: NetnsAvailability = { ok: true, netem: false };
  try {
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (err) {
        result = { ok: false, reason: `${what} does not work here: ${(err as Error).message}` };
        return result;
      }
    }
    const netem = await tc('qdisc', 'replace', 'dev', veth, 'root', 'netem', 'delay', '1ms').then(
      () => true,
      () => false,
    );
    result = { ok: true, netem };
    return result;
  } finally {
    await removeNames([namespace], [veth, bridge]).catch(() => undefined);
    removeMarker(runId);
  }
}

// ---------------------------------------------------------------------------------------
// A network

const openNetworks = new Set<{ teardownSync(): void }>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  // mocha's --exit (and any process.exit) ends the process without awaiting after hooks;
  // what an unclosed network left is removed here, synchronously.
  process.on('exit', () => {
    for (const network of openNetworks) network.teardownSync();
  });
}

/** Octets X for which 10.231.X.0/24 overlaps no address or route on this machine, and no live run's subnet. */
async function pickOctet(): Promise<number> {
  const [addresses, routes] = await Promise.all([ip('-4', '-o', 'addr', 'show'), ip('-4', 'route', 'show', 'table', 'all')]);
  const taken = new Set([...liveRuns().values()].map((marker) => marker.octet).filter((octet): octet is number => octet !== undefined));
  const prefixes: Array<[number, number]> = [];
  const toInt = (dotted: string) => dotted.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  for (const match of addresses.matchAll(/inet (\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/g)) prefixes.push([toInt(match[1]), Number(match[2] ?? 32)]);
  for (const line of routes.split('\n')) {
    const match = /^(?:\w+\s+)?(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?\s/.exec(line.trim());
    if (match) prefixes.push([toInt(match[1]), Number(match[2] ?? 32)]);
  }
  const overlaps = (octet: number) => {
    const ours = toInt(`${SUBNET_BASE}.${octet}.0`);
    return prefixes.some(([network, length]) => {
      if (length === 0) return false; // the default route
      const common = Math.min(length, 24);
      const mask = common === 0 ? 0 : (0xffffffff << (32 - common)) >>> 0;
      return ((network & mask) >>> 0) === ((ours & mask) >>> 0);
    });
  };
  const candidates = [...Array(254).keys()].map((i) => i + 1).filter((octet) => !taken.has(octet) && !overlaps(octet));
  if (!candidates.length) throw new Error(`no free /24 in ${SUBNET_BASE}.0.0/16: every one overlaps an address or route here`);
  return candidates[randomBytes(2).readUInt16BE(0) % candidates.length];
}

export async function createTestNetwork(): Promise<TestNetwork> {
  const available = await netnsAvailable();
  if (!available.ok) throw new Error(`test hosts need network namespaces: ${available.reason}`);
  await cleanupStaleTestNetworks();

  const runId = newRunId();
  writeMarker(runId);
  const octet = await pickOctet();
  writeMarker(runId, octet);
  const bridge = `${PREFIX}${runId}-br`;
  const hostAddress = `${SUBNET_BASE}.${octet}.1`;
  const subnet = `${SUBNET_BASE}.${octet}.0/24`;

  const hosts: TestHost[] = [];
  const namespaces: string[] = [];
  const links: string[] = [bridge];
  const children = new Set<ChildProcess>();
  const forwarders: TcpForwarder[] = [];
  let nextIndex = 2;
  let closed = false;

  const teardownSync = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const namespace of namespaces) {
      for (const pid of pidsIn(runSync('ip', ['netns', 'pids', namespace]))) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    for (const link of links.filter((name) => name !== bridge)) runSync('ip', ['link', 'del', link]);
    for (const namespace of namespaces) runSync('ip', ['netns', 'del', namespace]);
    runSync('ip', ['link', 'del', bridge]);
    removeMarker(runId);
  };
  const registration = { teardownSync };
  installExitHandler();
  openNetworks.add(registration);

  try {
    await ip('link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    await ip('addr', 'add', `${hostAddress}/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
  } catch (err) {
    openNetworks.delete(registration);
    teardownSync();
    throw err;
  }

  const track = (child: ChildProcess) => {
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };

  const addHost = async (name: string): Promise<TestHost> => {
    if (closed) throw new Error('the test network is closed');
    if (!/^[a-z0-9][a-z0-9-]{0,30}$/i.test(name)) throw new Error(`a host name is letters, digits and dashes: ${JSON.stringify(name)}`);
    const namespace = `${PREFIX}${runId}-${name}`;
    if (namespaces.includes(namespace)) throw new Error(`host ${name} exists already`);
    if (nextIndex > 254) throw new Error('the test network is full (253 hosts)');
    const index = nextIndex++;
    const address = `${SUBNET_BASE}.${octet}.${index}`;
    const hostInterface = `${PREFIX}${runId}-h${index}`; // ≤ 13 characters (the limit is 15)
    namespaces.push(namespace);
    links.push(hostInterface);
    await ip('netns', 'add', namespace);
    await ip('link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
    await ip('link', 'set', hostInterface, 'master', bridge);
    await ip('link', 'set', hostInterface, 'up');
    await ip('-n', namespace, 'link', 'set', 'lo', 'up');
    await ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    await ip('-n', namespace, 'link', 'set', 'eth0', 'up');
    await ip('-n', namespace, 'route', 'add', 'default', 'via', hostAddress);
    await waitLowerUp(namespace);

    const host: TestHost = {
      name,
      namespace,
      address,
      hostInterface,
      exec: (command, args = [], options = {}) =>
        new Promise((resolve) => {
          const child = execFile(
            'ip',
            ['netns', 'exec', namespace, command, ...args],
            {
              encoding: 'utf8',
              env: options.env ?? process.env,
              cwd: options.cwd,
              timeout: options.timeoutMs ?? 30_000,
              killSignal: 'SIGKILL',
              maxBuffer: 64 * 1024 * 1024,
            },
            (err, stdout, stderr) => {
              const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : -1) : 0;
              resolve({ code, signal: (err as { signal?: NodeJS.Signals } | null)?.signal ?? null, stdout, stderr });
            },
          );
          track(child);
        }),
      spawn: (command, args = [], options = {}) => {
        if (closed) throw new Error('the test network is closed');
        return track(spawnChild('ip', ['netns', 'exec', namespace, command, ...args], options));
      },
      cutLink: async () => {
        await ip('link', 'set', hostInterface, 'down');
      },
      restoreLink: async () => {
        await ip('link', 'set', hostInterface, 'up');
        await waitLowerUp(namespace);
      },
      shape: async ({ rateBytesPerSec, delayMs = 0 }) => {
        if (!(rateBytesPerSec > 0)) throw new Error(`shape: rateBytesPerSec must be positive, not ${rateBytesPerSec}`);
        if (delayMs > 0 && !available.netem) {
          throw new Error('shape: delayMs needs the sch_netem qdisc, which this kernel lacks (CONFIG_NET_SCH_NETEM); rate limits work without it');
        }
        await host.unshape();
        // tbf rates are given in bits ("bps" would mean bytes to tc). The bucket holds at
        // least one GSO super-packet (64 KiB), else tbf has to segment every one of them.
        const rate = `${Math.round(rateBytesPerSec * 8)}bit`;
        const burst = `${Math.max(64 * 1024, Math.ceil(rateBytesPerSec / 100))}b`;
        const tbf = ['root', 'handle', '1:', 'tbf', 'rate', rate, 'burst', burst, 'latency', '200ms'];
        const netem = ['parent', '1:1', 'handle', '10:', 'netem', 'delay', `${delayMs}ms`, 'limit', '100000'];
        // Into the host: the root end's egress. Out of the host: egress of its eth0.
        await tc('qdisc', 'add', 'dev', hostInterface, ...tbf);
        await tc('-n', namespace, 'qdisc', 'add', 'dev', 'eth0', ...tbf);
        if (delayMs > 0) {
          await tc('qdisc', 'add', 'dev', hostInterface, ...netem);
          await tc('-n', namespace, 'qdisc', 'add', 'dev', 'eth0', ...netem);
        }
      },
      unshape: async () => {
        const drop = (err: CommandError) => {
          // Nothing to delete: the default qdisc is in place.
          if (!/handle of zero|No such file|Invalid handle|Cannot find/.test(err.stderr)) throw err;
        };
        await tc('qdisc', 'del', 'dev', hostInterface, 'root').catch(drop);
        await tc('-n', namespace, 'qdisc', 'del', 'dev', 'eth0', 'root').catch(drop);
      },
    };
    hosts.push(host);
    return host;
  };

  const network: TestNetwork = {
    runId,
    hostAddress,
    subnet,
    bridge,
    hosts: () => [...hosts],
    addHost: async (name) => {
      try {
        return await addHost(name);
      } catch (err) {
        throw new Error(`adding test host ${name}: ${(err as Error).message}`);
      }
    },
    forward: async (targetPort, options = {}) => {
      if (closed) throw new Error('the test network is closed');
      const targetHost = options.to ?? '127.0.0.1';
      let forwarder: TcpForwarder;
      try {
        forwarder = await startTcpForwarder({ listenHost: hostAddress, listenPort: options.port ?? targetPort, targetHost, targetPort });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || options.port !== undefined) throw err;
        forwarder = await startTcpForwarder({ listenHost: hostAddress, listenPort: 0, targetHost, targetPort });
      }
      forwarders.push(forwarder);
      return forwarder;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      const problems: string[] = [];
      const exits = [...children].map((child) => new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }));
      await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 5_000))]);
      await Promise.all(forwarders.map((forwarder) => forwarder.close().catch((err: Error) => problems.push(`forwarder: ${err.message}`))));
      problems.push(...(await removeNames(namespaces, links)));
      // Namespace teardown in the kernel is asynchronous: wait (bounded) until nothing of this run is listed.
      const deadline = Date.now() + 5_000;
      let left: string[] = [];
      for (;;) {
        const all = await listTestNames();
        left = [...all.namespaces, ...all.links].filter((name) => name.startsWith(`${PREFIX}${runId}-`));
        if (!left.length || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (left.length) problems.push(`still present after close: ${left.join(', ')}`);
      openNetworks.delete(registration);
      removeMarker(runId);
      if (problems.length) throw new Error(`closing test network ${runId}:\n${problems.join('\n')}`);
    },
  };
  return network;
}

/** Waits (bounded) until a namespace's eth0 has carrier, i.e. its peer in the bridge is up. */
async function waitLowerUp(namespace: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const text = await ip('-n', namespace, '-o', 'link', 'show', 'eth0');
    if (/[<,]LOWER_UP[,>]/.test(text)) return;
    if (Date.now() > deadline) throw new Error(`${namespace}: eth0 has no carrier after 3 s: ${text.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
