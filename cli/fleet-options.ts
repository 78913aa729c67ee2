// Flags that plans and fleet jobs share: what to plan (strategy, threshold, excluded
// shards) and how to run it (concurrency, per-node limits, rate, mode).
import { Option, InvalidArgumentError, type Command } from 'commander';
import { MIGRATION_MODES, type MigrationMode } from '../common/job';
import { MAX_CONCURRENCY, STRATEGIES, type Strategy } from '../fleet/types';
import { shardNameSchema } from '../fleet/validation';
import { byteRate, integer } from './options';

export interface PlanFlags {
  strategy?: Strategy;
  threshold?: number;
  exclude?: string[];
  json?: boolean;
}

export interface RunFlags extends PlanFlags {
  concurrency: number;
  maxIncoming: number;
  maxOutgoing: number;
  maxRate?: number;
  mode: MigrationMode;
  wait?: boolean;
  stallAfter: number;
}

function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('--threshold must be a fraction from 0 to 1, e.g. 0.1 for ±10 %');
  return n;
}

function collectShard(value: string, previous: string[] = []): string[] {
  const parsed = shardNameSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0].message);
  return [...previous, value];
}

function upTo(what: string, max: number) {
  const parse = integer(what, 1);
  return (value: string) => {
    const n = parse(value);
    if (n > max) throw new InvalidArgumentError(`${what} must be a whole number from 1 to ${max}`);
    return n;
  };
}

export function addPlanOptions(command: Command, { threshold = false } = {}): Command {
  command
    .addOption(new Option('--strategy <strategy>', 'balance bytes (by-size) or the number of shards (by-count)').choices(STRATEGIES).default('by-size'))
    .option('--exclude <org/ns>', 'leave this shard where it is (repeatable)', collectShard);
  if (threshold) command.option('--threshold <fraction>', 'how far a node may be from the mean, as a fraction of it', fraction, 0.1);
  return command;
}

export function addRunOptions(command: Command): Command {
  return command
    .option('--concurrency <n>', 'moves at once, in all', upTo('--concurrency', MAX_CONCURRENCY), 4)
    .option('--max-incoming <n>', 'moves at once into any one node', upTo('--max-incoming', MAX_CONCURRENCY), 1)
    .option('--max-outgoing <n>', 'moves at once out of any one node', upTo('--max-outgoing', MAX_CONCURRENCY), 1)
    .option('--max-rate <rate>', "cap each move's copy at this many bytes per second, e.g. 50MiB", byteRate('--max-rate'))
    .addOption(new Option('--mode <mode>', 'each move offline (locked for its copy) or online').choices(MIGRATION_MODES).default('offline'))
    .option('--wait', 'follow the job to its end (exit 1 if a move failed or it was cancelled)')
    .option('--stall-after <seconds>', 'with --wait: name a move that made no progress for this long', integer('--stall-after', 1), 60);
}
