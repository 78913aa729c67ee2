// The real `temporal` binary as an operator would run it, against the test server.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { temporalCliPath } from '../../temporal/cli-binary';
import { suite } from './root-hooks';

const run = promisify(execFile);

/** Runs `temporal <args> --address <test server>` and returns its stdout. */
export async function temporalCli(...args: string[]): Promise<string> {
  const { stdout } = await run(temporalCliPath(), [...args, '--address', suite().server.address, '--namespace', 'default'], {
    encoding: 'utf8',
  });
  return stdout;
}

/** The same with `-o json`, parsed. */
export async function temporalCliJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await temporalCli(...args, '--output', 'json')) as T;
}

/** A `workflow list -o json` row's search attribute, decoded from its payload. */
export function searchAttribute(row: ListedWorkflow, name: string): unknown {
  const field = row.searchAttributes?.indexedFields?.[name];
  return field ? JSON.parse(Buffer.from(field.data, 'base64').toString('utf8')) : undefined;
}

export interface ListedWorkflow {
  execution: { workflowId: string; runId: string };
  type: { name: string };
  status: string;
  searchAttributes?: { indexedFields?: Record<string, { data: string }> };
}
