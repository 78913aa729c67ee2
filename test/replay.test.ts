// Determinism guard: every recorded history must replay against today's workflow
// code. A change that would break an in-flight migration fails here first; wrap such
// a change in patched() and record new histories beside the old ones
// (scripts/record-histories.ts).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { suite } from './support/root-hooks';

const DIR = path.join(__dirname, 'histories');

describe('workflow determinism (replay of recorded histories)', () => {
  const files = fs.existsSync(DIR) ? fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort() : [];

  it('has the recorded histories: released offline and online, crashed-and-resumed, rolled back, cancelled, repaired, a fleet drain', () => {
    for (const kind of ['released-offline', 'released-online', 'crashed-and-resumed', 'rolled-back', 'cancelled', 'repaired', 'fleet-drained']) {
      assert.ok(files.some((f) => f.startsWith(kind)), `test/histories has no ${kind} history`);
    }
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      const history: unknown = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')); // the JSON the Temporal CLI exports
      // Replayed under its file's name: a fleet job's children's ids derive from its own, and it was recorded under that name.
      await Worker.runReplayHistory({ workflowBundle: suite().bundle }, history, path.basename(file, '.json'));
    });
  }
});
