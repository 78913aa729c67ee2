// Finds the Temporal CLI the project set up (scripts/ensure-temporal.js): an explicit
// TEMPORAL_CLI, then `temporal` on PATH, then the pinned copy under .temporal/bin.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
const LOCAL_BINARY = path.join(PROJECT_ROOT, '.temporal', 'bin', 'temporal');

export function temporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEMPORAL_CLI) return env.TEMPORAL_CLI;
  const found = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  if (fs.existsSync(LOCAL_BINARY)) return LOCAL_BINARY;
  throw new Error('no Temporal CLI found: run "npm run setup" (installs the pinned CLI under .temporal/bin)');
}
