// The workflow bundle the coordinator's workers run. `npm run build:workflows` (run by
// prestart, pretest and prebench) bundles workflows/ once with webpack into
// build/workflows.js, beside a stamp (build/workflows.json) naming the project source
// files that went in with a SHA-256 over them and package-lock.json. A process then
// loads the file (`workflowBundle: { codePath }`) when the stamp still matches the
// sources, and otherwise bundles in-process as before — slower to start and webpack's
// heap stays in the process — and says so. Bundling pulls in webpack: this module
// loads the bundler only on that path.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BundleOptions, WorkflowBundleOption } from '@temporalio/worker';
import { PROJECT_ROOT } from './cli-binary';

export const WORKFLOWS_PATH = path.join(PROJECT_ROOT, 'workflows');
export const BUNDLE_FILE = path.join(PROJECT_ROOT, 'build', 'workflows.js');
const STAMP_FILE = path.join(PROJECT_ROOT, 'build', 'workflows.json');
const LOCK_FILE = path.join(PROJECT_ROOT, 'package-lock.json');

interface Stamp {
  /** Project files (relative to the project root, outside node_modules) that went into the bundle. */
  files: string[];
  /** SHA-256 over package-lock.json and those files, each with its name. */
  hash: string;
}

/** Why the prebuilt bundle cannot be used, or undefined when it is current. */
export function prebuiltBundleStale(): string | undefined {
  let stamp: Stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(STAMP_FILE, 'utf8')) as Stamp;
  } catch {
    return `no prebuilt workflow bundle (${path.relative(PROJECT_ROOT, STAMP_FILE)}; npm run build:workflows makes it)`;
  }
  if (!fs.existsSync(BUNDLE_FILE)) return `${path.relative(PROJECT_ROOT, BUNDLE_FILE)} is missing`;
  const hash = sourcesHash(stamp.files);
  if (hash !== stamp.hash) return `the prebuilt workflow bundle is older than the workflow sources (npm run build:workflows rebuilds it)`;
  return undefined;
}

/**
 * The prebuilt bundle when current, else one bundled now; `log` gets one line when it
 * has to bundle.
 */
export async function workflowBundle(log: (line: string) => void, options: Partial<BundleOptions> = {}): Promise<WorkflowBundleOption> {
  const stale = prebuiltBundleStale();
  if (!stale) return { codePath: BUNDLE_FILE };
  log(`${stale}: bundling the workflow code in-process`);
  /* eslint-disable-next-line @typescript-eslint/no-require-imports */
  const { bundleWorkflowCode } = require('@temporalio/worker') as typeof import('@temporalio/worker');
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...options });
}

/** Bundles workflows/ into build/workflows.js and writes its stamp. */
export async function buildWorkflowBundle(options: Partial<BundleOptions> = {}): Promise<{ file: string; files: string[] }> {
  /* eslint-disable-next-line @typescript-eslint/no-require-imports */
  const { bundleWorkflowCode } = require('@temporalio/worker') as typeof import('@temporalio/worker');
  let inputs: string[] = [];
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    ...options,
    webpackConfigHook: (config) => {
      config.plugins = [
        ...(config.plugins ?? []),
        {
          apply(compiler) {
            compiler.hooks.done.tap('tasksd-bundle-inputs', (stats) => {
              inputs = [...stats.compilation.fileDependencies];
            });
          },
        },
      ];
      return options.webpackConfigHook ? options.webpackConfigHook(config) : config;
    },
  });
  const files = inputs
    .filter((file) => path.isAbsolute(file) && file.startsWith(PROJECT_ROOT + path.sep) && !file.includes(`${path.sep}node_modules${path.sep}`))
    .map((file) => path.relative(PROJECT_ROOT, file))
    .filter((file) => fs.statSync(path.join(PROJECT_ROOT, file), { throwIfNoEntry: false })?.isFile())
    .sort();
  if (!files.some((file) => file.startsWith('workflows' + path.sep))) throw new Error('the bundler reported no workflow source files');
  fs.mkdirSync(path.dirname(BUNDLE_FILE), { recursive: true });
  // The stamp goes last: a build cut short leaves no stamp that matches.
  fs.rmSync(STAMP_FILE, { force: true });
  fs.writeFileSync(BUNDLE_FILE, code);
  const stamp: Stamp = { files, hash: sourcesHash(files) };
  fs.writeFileSync(STAMP_FILE, JSON.stringify(stamp, null, 2) + '\n');
  return { file: BUNDLE_FILE, files };
}

function sourcesHash(files: string[]): string {
  const hash = createHash('sha256');
  for (const file of [path.relative(PROJECT_ROOT, LOCK_FILE), ...files]) {
    let content: Buffer;
    try {
      content = fs.readFileSync(path.join(PROJECT_ROOT, file));
    } catch {
      return 'missing:' + file;
    }
    hash.update(file).update('\0').update(String(content.length)).update('\0').update(content);
  }
  return hash.digest('hex');
}
