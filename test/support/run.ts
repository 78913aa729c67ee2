// Runs a command the way an operator's shell would, capturing its exit status and
// output; a hang shows up as code -1 once the timeout kills it.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { PROJECT_ROOT, temporalCliPath } from '../../temporal/cli-binary';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env: { ...process.env, ...options.env }, cwd: options.cwd ?? PROJECT_ROOT, timeout: options.timeoutMs ?? 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `tasksd ...` as installed (bin/tasksd.js), with the given environment. */
export function tasksd(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Run> {
  return run(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'tasksd.js'), ...args], { env, cwd });
}

/** `temporal ...` with the project's installed Temporal CLI. */
export function temporal(args: string[]): Promise<Run> {
  return run(temporalCliPath(), args);
}
