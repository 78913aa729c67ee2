// The Temporal Web UI as an operator's surface, in a real browser: a finished and a
// running migration must be readable at a glance — status, summary, current details,
// activity summaries, copy progress, search attributes. Screenshots go to test-output/.
import { AssertionError, strict as assert } from 'node:assert';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import type { JobSnapshot } from '../client';
import { eventually, uniqueId } from './support/eventually';
import { launchChromium, screenshotPath } from './support/browser';
import { makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';

const MIGRATION_COLUMNS = ['MigrationStatus', 'MigrationOrg', 'MigrationNs', 'MigrationFrom', 'MigrationTo', 'MigrationBytes'];

/** Waits until the locator shows the text; on failure says what it showed instead. */
async function shows(locator: Locator, text: string | RegExp, timeout = 30_000): Promise<void> {
  try {
    await locator.filter({ hasText: text }).first().waitFor({ timeout });
  } catch {
    const actual = await locator.first().innerText({ timeout: 1000 }).catch(() => '(nothing)');
    throw new AssertionError({ message: `expected ${locator} to show ${text}; it shows:\n${actual}` });
  }
}

/** The markdown the UI renders for user metadata sits in an iframe per field. */
const metadata = (page: Page, field: 'summary' | 'details' | 'current-details') =>
  page.frameLocator(`#user-metadata-${field}`).locator('body');

async function openWorkflow(page: Page, id: string): Promise<void> {
  await page.goto(`${suite().server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(id)}`);
  await shows(page.getByTestId('workflow-id-heading'), id);
}

async function openTab(page: Page, tab: string): Promise<void> {
  await page.getByTestId(`${tab}-tab`).click();
}

describe('Temporal Web UI (chromium)', function () {
  this.timeout(300_000);
  let browser: BrowserContext;
  let t: TestCluster;
  before(async () => (browser = await launchChromium()));
  after(async () => browser?.close());
  beforeEach(async () => (t = await makeCluster()));
  afterEach(() => t?.close());

  it('shows a finished and a running migration: status, summaries, details, copy progress, search attributes', async () => {
    const org = uniqueId('ui');
    await seedShard(t, org, 'done', 'node-a', 200);
    await seedShard(t, org, 'live', 'node-a', 1500, 2048);
    await withWorker(
      t,
      async (migrations) => {
        const done = await migrations.migrate({ org, ns: 'done', to: 'node-b' });
        assert.equal(done.status, 'released', done.error);
        const live = await migrations.start({ org, ns: 'live', to: 'node-b' });
        let copying: JobSnapshot | undefined;
        for await (const snap of migrations.watch(live, 100)) {
          if (snap.status === 'copying' && (snap.progress?.bytesCopied ?? 0) > 0) {
            copying = snap;
            break;
          }
        }
        assert.ok(copying, 'the live job reached copying with progress');
        // The UI lists from visibility, which trails the workflow by a moment.
        await eventually('visibility to show both jobs', async () => {
          const jobs = await migrations.list({ org });
          return jobs.some((j) => j.id === live && j.status === 'copying') && jobs.some((j) => j.id === done.id && j.status === 'released')
            ? true
            : undefined;
        });

        const page = await browser.newPage();

        // Workflows list, filtered by org, with the migration search attributes as columns.
        await page.goto(`${suite().server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`MigrationOrg="${org}"`)}`);
        const row = (id: string) => page.getByTestId('workflows-summary-configurable-table-row').filter({ hasText: id });
        await shows(row(done.id), /completed/i);
        await page.getByRole('button', { name: 'Configure Columns' }).click();
        for (const column of MIGRATION_COLUMNS) await page.getByRole('button', { name: `Add ${column} column` }).click();
        for (const column of ['Run ID', 'Type', 'End']) await page.getByRole('button', { name: `Remove ${column} column` }).click();
        await page.getByRole('button', { name: 'Close Workflows Table configuration' }).click();
        await shows(page.locator('thead'), 'MigrationBytes');
        await page.setViewportSize({ width: 2000, height: 560 }); // every column in one screenshot
        for (const text of [/running/i, 'copying', org, 'live', 'node-a', 'node-b']) await shows(row(live), text);
        for (const text of [/completed/i, 'released', 'done', String(done.bytes)]) await shows(row(done.id), text);
        await page.screenshot({ path: screenshotPath('web-ui-list') });
        await page.setViewportSize({ width: 1440, height: 900 });

        // The finished job: status, the client's static summary and details, the workflow's current details.
        await openWorkflow(page, done.id);
        await shows(page.getByTestId('execution-status'), /completed/i);
        await openTab(page, 'user-metadata');
        await shows(metadata(page, 'summary'), `Move ${org}/done to node-b (offline)`);
        await shows(metadata(page, 'details'), `Shard ${org}/done → node node-b, offline mode`);
        await shows(metadata(page, 'current-details'), `released · ${org}/done · node-a → node-b · offline`);
        await shows(metadata(page, 'current-details'), `bytes copied: ${done.bytes}`);
        await page.screenshot({ path: screenshotPath('web-ui-finished-metadata') });

        // The running job: each activity's summary on the timeline, copy progress, current details, search attributes.
        await openWorkflow(page, live);
        await shows(page.getByTestId('execution-status'), /running/i);
        await shows(page.locator('main'), `lock ${org}/live on node-a: writes refused from here`);
        await shows(page.locator('main'), `node-b streams ${org}/live from node-a`);
        await page.screenshot({ path: screenshotPath('web-ui-running-timeline') });

        await openTab(page, 'pending-activities');
        await shows(page.locator('main'), 'checkpointAndCopy');
        await shows(page.locator('main'), 'Heartbeat Details');
        await shows(page.locator('main'), /"bytesCopied": [1-9]\d*/);
        await shows(page.locator('main'), `"totalBytes": ${copying.progress!.totalBytes}`);
        await page.screenshot({ path: screenshotPath('web-ui-running-progress') });

        await openTab(page, 'user-metadata');
        await shows(metadata(page, 'summary'), `Move ${org}/live to node-b (offline)`);
        await shows(metadata(page, 'current-details'), `copying · ${org}/live · node-a → node-b · offline`);
        await shows(metadata(page, 'current-details'), 'copy in progress: see checkpointAndCopy under Pending Activities');
        await page.screenshot({ path: screenshotPath('web-ui-running-metadata') });

        await openTab(page, 'search-attributes');
        for (const [name, value] of [['MigrationStatus', 'copying'], ['MigrationOrg', org], ['MigrationNs', 'live'], ['MigrationFrom', 'node-a'], ['MigrationTo', 'node-b']]) {
          await shows(page.locator('main'), `"${name}": "${value}"`);
        }
        await page.screenshot({ path: screenshotPath('web-ui-running-search-attributes') });
        await page.close();

        await migrations.cancel(live);
        assert.equal((await migrations.result(live)).status, 'failed');
      },
      { copyBytesPerSecond: 32 * 1024 }, // ~3.5 MiB at 32 KiB/s: copying for far longer than the browser needs
    );
  });
});
