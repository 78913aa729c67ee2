// The worker as an operator starts it (`node --require tsx/cjs worker.ts`), pointed at
// a server it cannot use: it must stop within seconds with one clear message, never
// hang, never print a secret, and leave no catalog behind.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../temporal/dev-server';
import { suite } from './support/root-hooks';
import { run } from './support/run';

const SECRET = 'tasksd-test-api-key-0123456789';

async function startWorker(env: NodeJS.ProcessEnv) {
  const dataRoot = fs.mkdtempSync(path.join(suite().scratch, 'worker-conn-'));
  const started = Date.now();
  const result = await run(process.execPath, ['--require', 'tsx/cjs', 'worker.ts'], {
    env: { TASKSD_DATA: dataRoot, TASKSD_TASK_QUEUE: 'worker-connection-test', TEMPORAL_NAMESPACE: 'default', ...env },
    timeoutMs: 60_000, // a hang shows up as code -1
  });
  return { ...result, seconds: (Date.now() - started) / 1000, output: result.stdout + result.stderr, dataRoot };
}

describe('worker start-up against an unusable server', () => {
  it('exits non-zero within seconds when nothing listens at TEMPORAL_ADDRESS, printing no secret', async () => {
    const port = await freePort(); // free, so closed: nothing listens there
    const worker = await startWorker({ TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPORAL_API_KEY: SECRET });
    assert.equal(worker.code, 1, worker.output);
    assert.ok(worker.seconds < 20, `took ${worker.seconds}s`);
    assert.match(worker.stderr, new RegExp(`^tasksd worker: cannot reach Temporal at 127\\.0\\.0\\.1:${port} \\(namespace default\\): [^\\n]+\\. Start one with [^\\n]+\\n$`));
    assert.ok(!worker.output.includes(SECRET), 'the API key is never printed');
    assert.deepEqual(fs.readdirSync(worker.dataRoot), [], 'no catalog was created');
  });

  it('exits non-zero within seconds when TEMPORAL_NAMESPACE does not exist', async () => {
    const worker = await startWorker({ TEMPORAL_ADDRESS: suite().server.address, TEMPORAL_NAMESPACE: 'nope' });
    assert.equal(worker.code, 1, worker.output);
    assert.ok(worker.seconds < 20, `took ${worker.seconds}s`);
    assert.match(worker.stderr, /^tasksd worker: Temporal namespace "nope" is not usable: .*not found\. Create it or set TEMPORAL_NAMESPACE\.\n$/);
    assert.doesNotMatch(worker.output, /serving task queue/);
    assert.deepEqual(fs.readdirSync(worker.dataRoot), [], 'no catalog was created');
  });
});
