// Imported first by worker.ts (`npm start`), for its side effect: V8's young generation
// kept small in the coordinator's main thread and in every isolate started after it
// (the workflow threads of its Temporal workers). The coordinator's JS allocates
// little and briefly, so the default semi-spaces (up to 16 MiB each, per isolate) only
// hold memory: with them the coordinator sat at 259–278 MiB RSS at rest, with these
// flags ≈ 225–235 MiB (issue 15). --semi-space-growth-factor=1 is read at every growth
// step, so it holds for the main thread from here on; --max-semi-space-size is read
// when an isolate is made, so it holds for the workflow threads (not the main thread,
// made before this runs). `tasksd node serve` sets the first in bin/tasksd.js.
import * as v8 from 'node:v8';

v8.setFlagsFromString('--semi-space-growth-factor=1');
v8.setFlagsFromString('--max-semi-space-size=1');
