#!/usr/bin/env node
// The `tasksd` command. The project ships TypeScript without a build step, so the
// CLI runs through tsx's CommonJS hook.
'use strict';
require('tsx/cjs');
require('../cli/main.ts');
