// How an error leaves the agent: JSON `{ error, message }` with the ErrorType name the
// client maps back to a TasksdError (transport/http.ts), and an HTTP status that says
// the same to anyone else (curl, a proxy's log).
import { ErrorType, TasksdError, type ErrorTypeName } from '../common/errors';
import { ShardMovedError, type ErrorBody } from '../transport/wire';

const STATUS: Partial<Record<ErrorTypeName, number>> = {
  [ErrorType.InvalidInput]: 400,
  [ErrorType.Unauthorized]: 401,
  [ErrorType.UnknownShard]: 404,
  [ErrorType.UnknownNode]: 404,
  [ErrorType.UnknownTask]: 404,
  [ErrorType.ShardMissing]: 404,
  [ErrorType.Moved]: 409,
  [ErrorType.SnapshotChanged]: 409,
  [ErrorType.ShardExists]: 409,
  [ErrorType.ShardBusy]: 409,
  [ErrorType.ShardLocked]: 423,
  [ErrorType.SourceCorrupt]: 422,
  [ErrorType.CatalogUnavailable]: 503,
  [ErrorType.NodeUnreachable]: 503,
};

/** Fastify's own refusals of a malformed request, by its error code. */
const FRAMEWORK: Record<string, number> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 413,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 415,
  FST_ERR_CTP_EMPTY_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 400,
  FST_ERR_BAD_URL: 400,
};

export function errorReply(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof TasksdError) {
    const body: ErrorBody = { error: err.type, message: err.message };
    if (err instanceof ShardMovedError) body.owner = err.owner;
    return { status: STATUS[err.type] ?? 500, body };
  }
  const e = err as { code?: string; statusCode?: number; message?: string };
  if (e.code && FRAMEWORK[e.code]) return { status: FRAMEWORK[e.code], body: { error: ErrorType.InvalidInput, message: oneLine(e.message) } };
  // A body fastify could not parse as JSON.
  if (e.statusCode === 400) return { status: 400, body: { error: ErrorType.InvalidInput, message: `the request body is not valid: ${oneLine(e.message)}` } };
  return { status: 500, body: { error: ErrorType.AgentError, message: oneLine(e.message ?? String(err)) } };
}

function oneLine(message: string | undefined): string {
  return (message ?? 'unknown error').replace(/\s*\n\s*/g, ' ').slice(0, 1000);
}
