// Flags shared by several commands. Ids are validated while the command line is
// parsed, so a bad id fails (exit 2) before anything opens the cluster or Temporal.
import { Command, InvalidArgumentError } from 'commander';
import { parseId } from '../common/validation';

export interface JsonFlag {
  json?: boolean;
}

export interface ShardFlags extends JsonFlag {
  org: string;
  namespace: string;
}

/** A commander argParser that throws InvalidInput naming the id, e.g. `org "Acme!" is not valid`. */
export function id(what: string): (value: string) => string {
  return (value) => parseId(what, value);
}

export function integer(what: string, min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${what} must be a whole number >= ${min}`);
    }
    return n;
  };
}

/** --org and --namespace (alias --ns), both required. */
export function addShard(command: Command): Command {
  return command
    .requiredOption('--org <org>', 'organization id', id('org'))
    .requiredOption('--ns, --namespace <namespace>', 'namespace id', id('namespace'));
}
