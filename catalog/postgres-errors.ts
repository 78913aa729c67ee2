// PostgreSQL failures in an operator's words. A catalog URL carries a password, so
// every message names the catalog by its URL with the password taken out. Failures
// that a wait can heal (server stopped, restarting, connection cut) are told apart
// from those it cannot (wrong password, unknown database, bad URL).
import { ErrorType, TasksdError } from '../common/errors';

/** The URL without its password (and without any password query parameter). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.searchParams.delete('password');
    return parsed.toString();
  } catch {
    return 'the PostgreSQL URL in TASKSD_CATALOG (unparseable)';
  }
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** SQLSTATEs of a server going away or not yet up: admin/crash shutdown, starting up. */
const TRANSIENT_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** True when waiting and trying again can help: the server is down, restarting or unreachable. */
export function isTransient(err: unknown): boolean {
  const { code, message } = err as { code?: string; message?: string };
  if (code && (CONNECTION_CODES.has(code) || TRANSIENT_STATES.has(code) || code.startsWith('08'))) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message ?? '');
}

/** One clear line for a catalog that refuses to open; never the password, never a stack. */
export function openFailure(location: string, err: unknown): TasksdError {
  const { code, message = String(err) } = err as { code?: string; message?: string };
  const why =
    code === '3D000'
      ? 'the database does not exist; create it (createdb) or fix the database name in TASKSD_CATALOG'
      : code === '28P01' || code === '28000'
        ? 'the server refused the user or password; check them in TASKSD_CATALOG'
        : code === 'ENOTFOUND'
          ? 'the host name does not resolve; check TASKSD_CATALOG'
          : isTransient(err)
            ? `nothing answers there (${code ?? message}); start PostgreSQL or fix the host and port in TASKSD_CATALOG`
            : stripPassword(message);
  return new TasksdError(ErrorType.CatalogUnavailable, `cannot open the catalog at ${location}: ${why}`);
}

/** The catalog stayed away longer than the wait allows: retryable, so the activity tries again later. */
export function stillUnavailable(location: string, waitedMs: number, err: unknown): TasksdError {
  return new TasksdError(
    ErrorType.CatalogUnavailable,
    `the catalog at ${location} has not answered for ${Math.round(waitedMs / 1000)} s (${(err as Error).message}); will retry`,
  );
}

function stripPassword(message: string): string {
  return message.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*):[^@\s]*@/gi, '$1@');
}
