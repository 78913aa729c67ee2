// A node agent as a real process (`tasksd node serve <id> --data DIR --listen HOST:PORT`,
// bin/tasksd.js), inside a test host's network namespace (test/support/netns.ts) or,
// where namespaces are unavailable, in the root namespace on a loopback port. One
// process, no launcher in between (`ip netns exec` execs in place), so SIGKILL hits the
// agent itself, the way a crash would.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../temporal/cli-binary';
import type { TestHost } from './netns';

export interface AgentProcessOptions {
  nodeId: string;
  /** --data: the node's directory of shard files. */
  dir: string;
  /** --listen HOST:PORT. */
  listen: string;
  /** The whole environment (TASKSD_CLUSTER_TOKEN, TASKSD_CATALOG, TASKSD_DATA, TEMPORAL_ADDRESS, TASKSD_TASK_QUEUE, …). */
  env: NodeJS.ProcessEnv;
  /** The namespace to run in; the root namespace when absent. */
  host?: TestHost;
  /** More arguments, e.g. --replace. */
  args?: string[];
}

export interface AgentProcess {
  nodeId: string;
  dir: string;
  listen: string;
  child: ChildProcess;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  /** Resolves once the agent has printed `text` (an event, not a sleep); rejects if it exits first or after timeoutMs. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** The exit code and signal, once it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** SIGKILL: no drain, no cleanup, in-flight activities abandoned. */
  kill(): Promise<void>;
  /** SIGTERM: the agent drains and exits. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The line `tasksd node serve` prints once it is registered, swept and serving. */
export const SERVING = /: serving \S+ at \S+; task queue /;

export function spawnAgentProcess(opts: AgentProcessOptions): AgentProcess {
  const args = [path.join(PROJECT_ROOT, 'bin', 'tasksd.js'), 'node', 'serve', opts.nodeId, '--data', opts.dir, '--listen', opts.listen, ...(opts.args ?? [])];
  const spawnOptions: SpawnOptions = { cwd: PROJECT_ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] };
  const child = opts.host ? opts.host.spawn(process.execPath, args, spawnOptions) : spawn(process.execPath, args, spawnOptions);
  let output = '';
  const listeners = new Set<() => void>();
  const record = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of [...listeners]) listener();
  };
  child.stdout!.on('data', record);
  child.stderr!.on('data', record);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const listener of [...listeners]) listener();
      resolve({ code, signal });
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;

  const waitFor = (text: string | RegExp, timeoutMs = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const seen = () => (typeof text === 'string' ? output.includes(text) : text.test(output));
      const done = (err?: Error) => {
        listeners.delete(check);
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (seen()) done();
        else if (!running()) done(new Error(`agent ${opts.nodeId} exited (${child.exitCode ?? child.signalCode}) before printing ${text}:\n${output}`));
      };
      const timer = setTimeout(() => done(new Error(`agent ${opts.nodeId} did not print ${text} within ${timeoutMs} ms:\n${output}`)), timeoutMs);
      listeners.add(check);
      check();
    });

  return {
    nodeId: opts.nodeId,
    dir: opts.dir,
    listen: opts.listen,
    child,
    output: () => output,
    waitFor,
    exited,
    running,
    kill: async () => {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (running()) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Spawns the agent and waits for its "serving" line. */
export async function startAgentProcess(opts: AgentProcessOptions, timeoutMs = 60_000): Promise<AgentProcess> {
  const agent = spawnAgentProcess(opts);
  try {
    await agent.waitFor(SERVING, timeoutMs);
  } catch (err) {
    await agent.kill();
    throw err;
  }
  return agent;
}
