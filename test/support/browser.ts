// Debian's chromium (scripts/ensure-chromium.sh), driven by playwright-core, which
// brings no browser of its own. The machine's network is closed: these flags keep
// chromium from trying to phone home (update checks, sync, QUIC probes).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { PROJECT_ROOT } from '../../temporal/cli-binary';
import { suite } from './root-hooks';

export const CHROMIUM = '/usr/bin/chromium';
export const OUTPUT_DIR = path.join(PROJECT_ROOT, 'test-output');

const QUIET_FLAGS = [
  '--headless',
  '--no-sandbox', // tests run as root
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless chromium with a new, empty profile under the test run's scratch folder. */
export async function launchChromium(): Promise<BrowserContext> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run "sh scripts/ensure-chromium.sh" (npm test's pretest does)`);
  }
  const profile = fs.mkdtempSync(path.join(suite().scratch, 'chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: QUIET_FLAGS,
    viewport: { width: 1440, height: 900 },
  });
}

/** Where a screenshot goes: test-output/<name>.png (gitignored). */
export function screenshotPath(name: string): string {
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  return path.join(OUTPUT_DIR, `${name}.png`);
}
