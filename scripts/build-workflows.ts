// `npm run build:workflows` (and prestart, pretest, prebench): bundles workflows/ into
// build/workflows.js once, so that the coordinator loads it instead of running webpack
// at every start (temporal/workflow-bundle.ts). Does nothing when the bundle is current.
import * as path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { PROJECT_ROOT } from '../temporal/cli-binary';
import { buildWorkflowBundle, prebuiltBundleStale } from '../temporal/workflow-bundle';

async function main(): Promise<void> {
  const stale = prebuiltBundleStale();
  if (!stale) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const started = Date.now();
  const { file, files } = await buildWorkflowBundle({ logger: new DefaultLogger('WARN') });
  console.log(`build:workflows: ${path.relative(PROJECT_ROOT, file)} from ${files.length} source files in ${((Date.now() - started) / 1000).toFixed(1)} s (${stale})`);
}

main().catch((err) => {
  console.error(`build:workflows: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
