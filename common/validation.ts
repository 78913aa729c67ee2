// One syntax for every identifier that can reach a file path, checked at every
// boundary (CLI, client, workflow input, activities). Ids are plain ASCII, so none
// can escape the data root (`..`, `/`, NUL, odd Unicode) or collide on disk.
import { z } from 'zod';
import { MIGRATION_MODES, type MigrationRequest } from './job';
import { ErrorType, TasksdError } from './errors';

export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const ID_RULE = 'lowercase letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters';

export function idSchema(what: string) {
  return z.string({ error: `${what} is required` }).regex(ID_PATTERN, {
    error: (issue) => `${what} ${JSON.stringify(issue.input)} is not valid: use ${ID_RULE}`,
  });
}

export const migrationRequestSchema = z
  .object({
    org: idSchema('org'),
    ns: idSchema('namespace'),
    to: idSchema('node'),
    mode: z
      .enum(MIGRATION_MODES, { error: (issue) => `mode ${JSON.stringify(issue.input)} is not valid: use offline or online` })
      .optional(),
    maxPauseMs: z.number({ error: 'maxPauseMs must be a number of milliseconds' }).int().min(1).max(600_000).optional(),
  })
  .strict();

export type ValidMigrationRequest = z.infer<typeof migrationRequestSchema>;

/** Validates a migration request, throwing one InvalidInput error naming every problem. */
export function parseMigrationRequest(input: unknown): ValidMigrationRequest & MigrationRequest {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new TasksdError(
      ErrorType.InvalidInput,
      'migration input must be a JSON object like {"org":"acme","ns":"default","to":"node-b"}',
    );
  }
  const result = migrationRequestSchema.safeParse(input);
  if (!result.success) throw new TasksdError(ErrorType.InvalidInput, describeIssues(result.error));
  return result.data;
}

export function parseId(what: string, value: unknown): string {
  const result = idSchema(what).safeParse(value);
  if (!result.success) throw new TasksdError(ErrorType.InvalidInput, describeIssues(result.error));
  return result.data;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message))
    .join('; ');
}
