// `npm start` with no server configured and none listening brings up the embedded
// dev server on the usual ports, persisting under the project's .temporal folder.
import * as path from 'node:path';
import { PROJECT_ROOT } from './cli-binary';
import { isListening, startDevServer, type DevServer } from './dev-server';
import type { TemporalTarget } from './connection';

export const EMBEDDED_DB_FILE = path.join(PROJECT_ROOT, '.temporal', 'dev-server.db');

export async function startEmbeddedIfNeeded(target: TemporalTarget): Promise<DevServer | undefined> {
  if (target.configured || (await isListening('127.0.0.1', 7233))) return undefined;
  return startDevServer({ dbFile: EMBEDDED_DB_FILE, port: 7233, uiPort: 8233 });
}
