// One syntax for every identifier that can reach a file path, checked at every
// boundary (CLI, client, workflow input, activities). Ids are plain ASCII, so none
// can escape the data root (`..`, `/`, NUL, odd Unicode) or collide on disk.
// Messages quote what was given through `quote`, so hostile input can neither
// break the one-line error nor smuggle terminal escapes into it.
import { z } from 'zod';
import { MIGRATION_MODES, type MigrationRequest } from './job';
import { ErrorType, TasksdError } from './errors';
import { ID_PATTERN, ID_RULE } from './ids';

export { ID_PATTERN, ID_RULE };

/** Job ids are Temporal workflow ids (the Temporal CLI may pick any): only printable, bounded ones are looked up. */
export const JOB_ID_PATTERN = /^[^\p{C}]{1,255}$/u;
/** Node directories: any printable path; where it may point is checked against the cluster (store/node-dir.ts). */
export const NODE_DIR_PATTERN = /^[^\p{C}]{1,1024}$/u;

const MIGRATION_FIELDS = ['org', 'ns', 'to', 'from', 'mode', 'maxPauseMs', 'maxBytesPerSecond', 'cluster'];
/** 1 KiB/s to 100 GiB/s: below that a copy never ends, above it the cap means nothing. */
const MIN_RATE = 1024;
const MAX_RATE = 100 * 1024 ** 3;
const MAX_PAUSE_LIMIT = 600_000;
const SHOWN_CHARS = 100;

/** How untrusted input appears in a message: ASCII only, escaped, at most 100 characters of it. */
export function quote(value: unknown): string {
  if (typeof value !== 'string') return kindOf(value);
  const chars = Array.from(value);
  const shown = JSON.stringify(chars.slice(0, SHOWN_CHARS).join('')).replace(
    /[^\x20-\x7e]/gu,
    (c) => c.split('').map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
  );
  return chars.length > SHOWN_CHARS ? `${shown}... (${chars.length} characters)` : shown;
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function stringSchema(what: string) {
  return z.string({
    error: (issue) => (issue.input === undefined ? `${what} is required` : `${what} must be a string, not ${kindOf(issue.input)}`),
  });
}

export function idSchema(what: string) {
  return stringSchema(what).regex(ID_PATTERN, { error: (issue) => `${what} ${quote(issue.input)} is not valid: use ${ID_RULE}` });
}

export const jobIdSchema = stringSchema('job id').regex(JOB_ID_PATTERN, {
  error: (issue) => `job id ${quote(issue.input)} is not valid: job ids are 1 to 255 printable characters`,
});

export const nodeDirSchema = stringSchema('--dir').regex(NODE_DIR_PATTERN, {
  error: (issue) => `--dir ${quote(issue.input)} is not valid: a directory path is 1 to 1024 printable characters`,
});

export const migrationRequestSchema = z
  .object({
    org: idSchema('org'),
    ns: idSchema('namespace'),
    to: idSchema('node'),
    from: idSchema('from').optional(),
    mode: z.enum(MIGRATION_MODES, { error: (issue) => `mode ${quote(issue.input)} is not valid: use offline or online` }).optional(),
    maxPauseMs: z
      .number({ error: (issue) => `maxPauseMs must be a number of milliseconds, not ${kindOf(issue.input)}` })
      .int({ error: 'maxPauseMs must be a whole number of milliseconds' })
      .min(1, { error: `maxPauseMs must be between 1 and ${MAX_PAUSE_LIMIT}` })
      .max(MAX_PAUSE_LIMIT, { error: `maxPauseMs must be between 1 and ${MAX_PAUSE_LIMIT}` })
      .optional(),
    maxBytesPerSecond: z
      .number({ error: (issue) => `maxBytesPerSecond must be a number of bytes per second, not ${kindOf(issue.input)}` })
      .int({ error: 'maxBytesPerSecond must be a whole number of bytes per second' })
      .min(MIN_RATE, { error: `maxBytesPerSecond must be between ${MIN_RATE} and ${MAX_RATE}` })
      .max(MAX_RATE, { error: `maxBytesPerSecond must be between ${MIN_RATE} and ${MAX_RATE}` })
      .optional(),
    cluster: idSchema('cluster').optional(),
  })
  .strict();

export type ValidMigrationRequest = z.infer<typeof migrationRequestSchema>;

/** Validates a migration request, throwing one InvalidInput error naming every problem. */
export function parseMigrationRequest(input: unknown): ValidMigrationRequest & MigrationRequest {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    const example = '{"org":"acme","ns":"default","to":"node-b"}';
    throw new TasksdError(
      ErrorType.InvalidInput,
      input === undefined
        ? `migration input is missing: pass a JSON object like ${example}`
        : `migration input must be a JSON object like ${example}, not ${kindOf(input)}`,
    );
  }
  return parse(migrationRequestSchema, input);
}

export function parseId(what: string, value: unknown): string {
  return parse(idSchema(what), value);
}

export function parseJobId(value: unknown): string {
  return parse(jobIdSchema, value);
}

export function parseNodeDir(value: unknown): string {
  return parse(nodeDirSchema, value);
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new TasksdError(ErrorType.InvalidInput, describeIssues(result.error));
  return result.data;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code !== 'unrecognized_keys') return issue.message;
      const shown = issue.keys.slice(0, 5).map(quote).join(', ');
      const more = issue.keys.length > 5 ? ` and ${issue.keys.length - 5} more` : '';
      return `unknown field(s) ${shown}${more}: the fields are ${MIGRATION_FIELDS.join(', ')}`;
    })
    .join('; ');
}
