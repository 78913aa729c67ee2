// Node agent processes for the bench (`tasksd node serve`, test/support/agent-process.ts),
// each with its own data directory under the run's scratch, registered in the bench's
// catalog and coordinated by a bench worker process on its task queue. Shared by the
// agents figure and the footprint figure.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startAgentProcess, type AgentProcess } from '../../test/support/agent-process';
import { MiB } from './data';
import type { BenchEnv } from './env';
import { statusBytes } from './proc';

export interface AgentMemory {
  node: string;
  where: 'loopback' | 'netns';
  restRss: number;
  restHwm: number;
  afterRss: number;
  afterHwm: number;
  moves: number;
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

/** The environment of an agent process: nothing from the developer's shell for tasksd or Temporal. */
export function agentEnv(env: BenchEnv, taskQueue: string, temporalAddress: string): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^(TASKSD_|TEMPORAL_)/.test(key)) clean[key] = value;
  return { ...clean, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_NAMESPACE: 'default', TASKSD_DATA: env.dataRoot, TASKSD_TASK_QUEUE: taskQueue };
}

export class Agents {
  readonly started: AgentProcess[] = [];
  readonly memory: AgentMemory[] = [];

  constructor(private readonly env: BenchEnv) {}

  async start(opts: { id: string; listen: string; env: NodeJS.ProcessEnv; where: AgentMemory['where']; host?: Parameters<typeof startAgentProcess>[0]['host'] }): Promise<AgentProcess> {
    const dir = path.join(this.env.scratch, 'agents', opts.id);
    const started = performance.now();
    const agent = await startAgentProcess({ nodeId: opts.id, dir, listen: opts.listen, env: opts.env, host: opts.host });
    this.started.push(agent);
    const pid = agent.child.pid!;
    // At rest: serving, its worker polling, nothing asked of it yet; a few seconds for start-up garbage to go.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const rest = { restRss: statusBytes(pid, 'VmRSS'), restHwm: statusBytes(pid, 'VmHWM') };
    this.memory.push({ node: opts.id, where: opts.where, ...rest, afterRss: NaN, afterHwm: NaN, moves: 0 });
    console.log(
      `  ${opts.id} (${opts.where}, pid ${pid}) serving after ${((performance.now() - started) / 1000).toFixed(1)} s; at rest RSS ${mib(rest.restRss)}, peak ${mib(rest.restHwm)}`,
    );
    return agent;
  }

  /** Reads each agent's memory after its moves. */
  after(agents: AgentProcess[], moves: number): void {
    for (const agent of agents) {
      const m = this.memory.find((x) => x.node === agent.nodeId)!;
      Object.assign(m, { afterRss: statusBytes(agent.child.pid!, 'VmRSS'), afterHwm: statusBytes(agent.child.pid!, 'VmHWM'), moves });
      console.log(`  ${agent.nodeId} after ${moves} moves: RSS ${mib(m.afterRss)}, peak ${mib(m.afterHwm)}`);
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.started.map((agent) => agent.stop()));
    for (const agent of this.started) fs.writeFileSync(path.join(this.env.scratch, `agent-${agent.nodeId}.log`), agent.output());
  }
}
