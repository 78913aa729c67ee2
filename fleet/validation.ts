// A fleet job's request, checked at every boundary (CLI, client, the planning activity
// for a start from the Temporal CLI): one InvalidInput naming every problem.
import { z } from 'zod';
import { ErrorType, TasksdError } from '../common/errors';
import { MIGRATION_MODES } from '../common/job';
import { idSchema, quote } from '../common/validation';
import { FLEET_KINDS, MAX_CONCURRENCY, STRATEGIES, type FleetRequest } from './types';

const FIELDS = ['kind', 'node', 'strategy', 'threshold', 'exclude', 'concurrency', 'maxIncoming', 'maxOutgoing', 'maxBytesPerSecond', 'mode', 'cluster', 'movesPerRun'];

const count = (what: string, max: number) =>
  z
    .number({ error: `${what} must be a whole number from 1 to ${max}` })
    .int({ error: `${what} must be a whole number from 1 to ${max}` })
    .min(1, { error: `${what} must be a whole number from 1 to ${max}` })
    .max(max, { error: `${what} must be a whole number from 1 to ${max}` });

/** `org/ns`, both valid ids. */
export const shardNameSchema = z.string({ error: 'an excluded shard is written org/ns' }).refine(
  (value) => {
    const [org, ns, extra] = value.split('/');
    return extra === undefined && idSchema('org').safeParse(org).success && idSchema('ns').safeParse(ns).success;
  },
  { error: (issue) => `--exclude ${quote(issue.input)} is not valid: write the shard as org/ns, e.g. acme/default` },
);

export const fleetRequestSchema = z
  .object({
    kind: z.enum(FLEET_KINDS, { error: (issue) => `kind ${quote(issue.input)} is not valid: use drain or rebalance` }),
    node: idSchema('node').optional(),
    strategy: z.enum(STRATEGIES, { error: (issue) => `strategy ${quote(issue.input)} is not valid: use by-size or by-count` }).optional(),
    threshold: z
      .number({ error: 'threshold must be a fraction from 0 to 1, e.g. 0.1 for ±10 %' })
      .min(0, { error: 'threshold must be a fraction from 0 to 1, e.g. 0.1 for ±10 %' })
      .max(1, { error: 'threshold must be a fraction from 0 to 1, e.g. 0.1 for ±10 %' })
      .optional(),
    exclude: z.array(shardNameSchema).max(10_000).optional(),
    concurrency: count('concurrency', MAX_CONCURRENCY).optional(),
    maxIncoming: count('maxIncoming', MAX_CONCURRENCY).optional(),
    maxOutgoing: count('maxOutgoing', MAX_CONCURRENCY).optional(),
    maxBytesPerSecond: z.number().int().min(1024, { error: 'maxBytesPerSecond must be at least 1024' }).max(100 * 1024 ** 3).optional(),
    mode: z.enum(MIGRATION_MODES, { error: (issue) => `mode ${quote(issue.input)} is not valid: use offline or online` }).optional(),
    cluster: idSchema('cluster').optional(),
    movesPerRun: count('movesPerRun', 10_000).optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.kind === 'drain' && !value.node) ctx.addIssue({ code: 'custom', message: 'a drain names its node' });
    if (value.kind === 'rebalance' && value.node) ctx.addIssue({ code: 'custom', message: 'a rebalance takes no node (it balances them all)' });
  });

export function parseFleetRequest(input: unknown): FleetRequest {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new TasksdError(ErrorType.InvalidInput, 'a fleet request is a JSON object like {"kind":"drain","node":"node-a"}');
  }
  const result = fleetRequestSchema.safeParse(input);
  if (result.success) return result.data;
  throw new TasksdError(
    ErrorType.InvalidInput,
    result.error.issues
      .map((issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.slice(0, 5).map(quote).join(', ')}: the fields are ${FIELDS.join(', ')}` : issue.message))
      .join('; '),
  );
}
