#!/usr/bin/env node
// The `tasksd` command. The project ships TypeScript without a build step, so the
// CLI runs through tsx's CommonJS hook.
'use strict';
// A node agent (`tasksd node serve`) is a long-lived process whose bytes travel in
// Buffers outside the JS heap; V8's young generation would otherwise grow to 2 × 16 MiB
// semi-spaces while the modules load and keep them (≈ +28 MiB RSS at rest, issue 15).
// Growth factor 1 keeps the semi-spaces at their initial size. Set before anything
// loads: a heap-size flag such as --max-semi-space-size is read only at start-up, and
// this one is read at every growth step.
if (process.argv[2] === 'node' && process.argv[3] === 'serve') require('node:v8').setFlagsFromString('--semi-space-growth-factor=1');
require('tsx/cjs');
require('../cli/main.ts');
