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

const RATE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** A byte rate per second: `52428800`, `50MiB`, `200MB`, `1.5GiB` (`/s` optional). */
export function byteRate(what: string): (value: string) => number {
  return (value) => {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)(?:\/s)?\s*$/i.exec(value);
    const unit = match ? RATE_UNITS[match[2].toLowerCase()] : undefined;
    const rate = match && unit ? Math.floor(Number(match[1]) * unit) : NaN;
    if (!Number.isSafeInteger(rate) || rate < 1024) {
      throw new InvalidArgumentError(`${what} must be a rate of at least 1KiB per second, e.g. 50MiB, 200MB or 1GiB`);
    }
    return rate;
  };
}

/** --org and --namespace (alias --ns), both required. */
export function addShard(command: Command): Command {
  return command
    .requiredOption('--org <org>', 'organization id', id('org'))
    .requiredOption('--ns, --namespace <namespace>', 'namespace id', id('namespace'));
}
