// `npm run demo` (scripts/demo.ts) end to end, as a newcomer runs it: three node agents
// as their own processes, an online move node-a → node-b and an offline move node-b →
// node-c while writers put through the owner's agent, loadgen's checker after each.
// Against the suite's Temporal server, in its own data root, exiting at the end
// (TASKSD_DEMO_EXIT=1) instead of waiting for Ctrl-C.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { suite } from './support/root-hooks';

const PROJECT_ROOT = path.resolve(__dirname, '..');
const DEADLINE_MS = 180_000;

describe('npm run demo', function () {
  this.timeout(DEADLINE_MS + 15_000);

  it('shows three agents serving, an online and an offline move released, and no write lost', async () => {
    const dataRoot = fs.mkdtempSync(path.join(suite().scratch, 'demo-'));
    const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: suite().server.address, TASKSD_DEMO_EXIT: '1', TASKSD_DEMO_DATA: dataRoot };
    delete env.TEMPORAL_NAMESPACE;
    // Its own process group: should it hang, the group (agents and writers too) is killed.
    const demo = spawn(process.execPath, ['--require', 'tsx/cjs', 'scripts/demo.ts'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    demo.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => process.kill(-demo.pid!, 'SIGKILL'), DEADLINE_MS);
    const code = await new Promise<number | null>((resolve) => demo.once('close', (c) => resolve(c)));
    clearTimeout(timer);
    const shown = `\n--- demo output ---\n${output}`;
    assert.equal(code, 0, `the demo exited with ${code}${shown}`);

    for (const node of ['node-a', 'node-b', 'node-c']) {
      assert.match(output, new RegExp(`^${node} \\| tasksd node ${node}: serving \\S+/hosts/${node.slice(-1)} at http://127\\.0\\.0\\.1:\\d+;`, 'm'), `${node} serving${shown}`);
      assert.match(output, new RegExp(`^${node} \\| tasksd node ${node}: stopped$`, 'm'), `${node} stopped${shown}`);
    }
    // Three different processes on three different ports.
    const rows = [...output.matchAll(/^ +│ (node-[abc]) +│ http:\/\/127\.0\.0\.1:(\d+) +│ (\d+) +│/gm)];
    assert.equal(rows.length, 3, `the agents' table${shown}`);
    assert.equal(new Set(rows.map((r) => r[2])).size, 3, `three ports${shown}`);
    assert.equal(new Set(rows.map((r) => r[3])).size, 3, `three processes${shown}`);
    assert.ok(!rows.some((r) => Number(r[3]) === demo.pid), `agents are not the demo's own process${shown}`);

    const released = [...output.matchAll(/^released acme\/default (node-[abc]) -> (node-[abc]), /gm)].map((m) => `${m[1]}->${m[2]}`);
    assert.deepEqual(released, ['node-a->node-b', 'node-b->node-c'], `both moves released${shown}`);
    assert.equal([...output.matchAll(/^demo: job \S+: released, .* copied, writes paused \d+ ms, checksum \S+/gm)].length, 2, `job lines${shown}`);
    assert.match(output, /^copying \d/m, `copy progress${shown}`);
    assert.equal([...output.matchAll(/^demo: Web UI: http\S+\/workflows\/migrate-acme\.default-\S+$/gm)].length, 2, `Web UI links${shown}`);

    const writers = [...output.matchAll(/^demo: writers: (\d+) writes acknowledged, lost (\d+) \(checked on (node-[abc]), the owner now\); (\d+) refused for good, none applied/gm)];
    assert.deepEqual(writers.map((w) => [w[2], w[3]]), [['0', 'node-b'], ['0', 'node-c']], `writers' results${shown}`);
    assert.ok(writers.every((w) => Number(w[1]) > 0), `writes were acknowledged during each move${shown}`);
    // The fleet part: a plan, a drain that empties node-a, a rebalance, as an operator types them.
    assert.match(output, /^demo: \$ tasksd plan drain node-a$/m, `plan command${shown}`);
    assert.match(output, /^plan: drain node-a \(by-size\): 12 move\(s\)/m, `the plan${shown}`);
    assert.match(output, /^goal reached: node node-a ends empty$/m, `the plan's goal${shown}`);
    assert.match(output, /^fleet job fleet-drain-node-a-\S+ finished: 12 moved \([^)]+\), 0 skipped, 0 failed$/m, `the drain${shown}`);
    assert.match(output, /^fleet job fleet-rebalance-\S+ finished: \d+ moved \([^)]+\), 0 skipped, 0 failed$/m, `the rebalance${shown}`);
    // The final owner in the shards table.
    assert.match(output.slice(output.lastIndexOf('│ shard ')), /│ acme\/default │ node-c │/, `final owner${shown}`);
  });
});
