// The cluster token every call to a node agent carries (TASKSD_CLUSTER_TOKEN, a bearer
// token). The embedded default needs no configuration: with the variable unset, the
// processes of a one-host cluster share a token kept in the data root
// (`cluster.token`, mode 0600), made by the first one that needs it.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, TasksdError } from './errors';

const TOKEN_FILE = 'cluster.token';
/** Long enough that guessing is hopeless, short enough to paste. */
const MIN_TOKEN_CHARS = 16;

export function clusterToken(dataRoot: string, env: NodeJS.ProcessEnv = process.env, { create = true } = {}): string {
  const configured = env.TASKSD_CLUSTER_TOKEN;
  if (configured !== undefined && configured !== '') {
    if (configured.length < MIN_TOKEN_CHARS || /\s/.test(configured)) {
      throw new TasksdError(ErrorType.InvalidInput, `TASKSD_CLUSTER_TOKEN is not valid: use at least ${MIN_TOKEN_CHARS} characters with no spaces`);
    }
    return configured;
  }
  const file = path.join(dataRoot, TOKEN_FILE);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !create) {
      throw new TasksdError(ErrorType.Unauthorized, `no cluster token: set TASKSD_CLUSTER_TOKEN (or run this on the cluster's host, where ${file} holds it)`);
    }
  }
  fs.mkdirSync(dataRoot, { recursive: true });
  const token = randomBytes(24).toString('hex');
  try {
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return token;
  } catch {
    return fs.readFileSync(file, 'utf8').trim(); // another process made it first
  }
}

/** TASKSD_TLS_CA: a PEM file of the CA that signed the agents' certificates, when they serve HTTPS. */
export function tlsCaFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.TASKSD_TLS_CA || undefined;
}
