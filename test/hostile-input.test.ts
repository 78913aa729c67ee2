// Random and adversarial names and inputs (fast-check) thrown at the validation every
// boundary shares, at the `tasksd` binary, and at the workflow itself (started the way
// the Temporal CLI would, without the client). Whatever comes in: no crash, no path
// outside the data root, one clean line of error in printable ASCII.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import type { Job } from '../common/job';
import { ErrorType, TasksdError } from '../common/errors';
import { WORKFLOW_TYPE } from '../common/names';
import { ID_PATTERN, parseId, parseMigrationRequest } from '../common/validation';
import { Cluster } from '../store/cluster';
import { defaultNodeDir, shardFile } from '../store/layout';
import { makeCluster, seedShard, withWorker, type TestCluster } from './support/fixtures';
import { suite } from './support/root-hooks';
import { tasksd } from './support/run';
import { snapshotTree } from './support/snapshot';

/** One line, printable ASCII, bounded: what every refusal message must be, whatever it quotes. */
const CLEAN_MESSAGE = /^[\x20-\x7e]{1,1500}$/;

const nasty = fc.constantFrom(
  '..', '.', '/', '\\', '\0', '\n', '\r', '\t', '\u001b[2J', '\u009b31m', '\u202e', '\u200b', '\ufeff', '\u2028',
  'ａ', 'İ', 'ﬁ', '😀', 'é', '%2e%2e%2f', '~', '$HOME', '$(id)', '`id`', '*', ' ', '-', '_', ':', '"', "'", '|',
  'acme', 'A', 'con', 'nodes', 'catalog.db', '/etc/passwd', 'C:\\', '\\\\?\\',
);

/** Mostly strings an attacker would try, mixed with arbitrary code points and very long names. */
const hostileString = fc.oneof(
  fc.array(fc.oneof(nasty, fc.string({ maxLength: 3 })), { minLength: 0, maxLength: 6 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary', maxLength: 70 }),
  fc.string({ unit: 'grapheme', maxLength: 70 }),
  fc.integer({ min: 60, max: 5000 }).map((n) => 'a'.repeat(n)),
  fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,62}$/), // valid ones too, so acceptance is exercised
);

const hostileValue = fc.oneof(hostileString, fc.anything());

function assertCleanRefusal(err: unknown): true {
  assert.ok(err instanceof TasksdError, `expected a TasksdError, got ${String(err)}`);
  assert.equal(err.type, ErrorType.InvalidInput);
  assert.match(err.message, CLEAN_MESSAGE);
  return true;
}

describe('hostile input', () => {
  const root = path.resolve('/srv/tasksd-data');

  it('parseId accepts only names that stay inside their directory, refusing the rest cleanly', () => {
    fc.assert(
      fc.property(fc.constantFrom('org', 'namespace', 'node'), hostileValue, (what, value) => {
        let id: string;
        try {
          id = parseId(what, value);
        } catch (err) {
          return assertCleanRefusal(err);
        }
        assert.match(id, ID_PATTERN);
        assert.equal(path.dirname(shardFile(root, id, id)), root);
        assert.equal(path.dirname(defaultNodeDir(root, id)), path.join(root, 'nodes'));
        return true;
      }),
      { numRuns: 3000 },
    );
  });

  it('parseMigrationRequest returns only well-formed requests, refusing the rest cleanly', () => {
    const request = fc.record(
      { org: hostileValue, ns: hostileValue, to: hostileValue, mode: hostileValue, maxPauseMs: fc.oneof(fc.integer(), fc.double(), hostileValue), cluster: hostileValue },
      { requiredKeys: [] },
    );
    const input = fc.oneof(
      request,
      fc.dictionary(hostileString, fc.anything(), { maxKeys: 12 }),
      fc.anything(),
      fc.jsonValue(),
      request.map((r) => JSON.parse(JSON.stringify(r ?? null)) as unknown), // as it arrives through Temporal
    );
    fc.assert(
      fc.property(input, (value) => {
        let valid: ReturnType<typeof parseMigrationRequest>;
        try {
          valid = parseMigrationRequest(value);
        } catch (err) {
          return assertCleanRefusal(err);
        }
        for (const id of [valid.org, valid.ns, valid.to, valid.cluster ?? 'absent']) assert.match(id, ID_PATTERN);
        assert.ok(Object.keys(valid).every((k) => ['org', 'ns', 'to', 'mode', 'maxPauseMs', 'cluster'].includes(k)));
        assert.ok(valid.mode === undefined || valid.mode === 'offline' || valid.mode === 'online');
        return true;
      }),
      { numRuns: 3000 },
    );
  });

  describe('through the binary and the workflow', () => {
    let t: TestCluster;
    let parent: string;
    beforeEach(async () => {
      // A scratch parent of its own: the data root and the CLI's working directory live
      // in it, so anything created outside the data root would show up here.
      parent = fs.mkdtempSync(path.join(suite().scratch, 'hostile-'));
      t = await makeCluster();
      await seedShard(t, 'acme', 'default', 'node-a', 10);
    });
    afterEach(() => t.close());

    it('tasksd refuses hostile ids with exit 2 and one clean line, creating nothing anywhere', async () => {
      const cwd = fs.mkdtempSync(path.join(parent, 'cwd-'));
      const dataRoot = path.join(parent, 'data');
      const cluster = await Cluster.open(dataRoot);
      await cluster.addNode('node-a');
      await cluster.createShard('acme', 'default', 'node-a');
      await cluster.close();
      const commands: Array<(v: string) => string[]> = [
        (v) => ['node', 'add', '--', v],
        (v) => ['shard', 'create', `--org=${v}`, '--ns=default', '--node=node-a'],
        (v) => ['shard', 'create', '--org=acme', `--ns=${v}`, '--node=node-a'],
        (v) => ['shard', 'create', '--org=acme', '--ns=other', `--node=${v}`],
        (v) => ['migrate', '--org=acme', '--ns=default', `--to=${v}`],
        (v) => ['put', '--org=acme', '--ns=default', `--id=${v}`, '--title=t'],
        (v) => ['get', `--org=${v}`, '--ns=default', '--id=t00001'],
        (v) => ['load', '--org=acme', `--ns=${v}`, '--rows=5'],
      ];
      // argv cannot carry NUL; parseId's property above covers it.
      const invalid = hostileString.filter((v) => !ID_PATTERN.test(v) && !v.includes('\0'));
      const before = snapshotTree(parent);
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: commands.length - 1 }), invalid, async (which, value) => {
          const args = commands[which](value);
          const run = await tasksd(args, { TASKSD_DATA: dataRoot, TEMPORAL_ADDRESS: suite().server.address }, cwd);
          assert.equal(run.code, 2, `tasksd ${JSON.stringify(args)} exited ${run.code}: ${run.stderr}`);
          assert.match(run.stderr, /^tasksd: [\x20-\x7e]+\n$/, `one clean line: ${JSON.stringify(run.stderr)}`);
          assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
          assert.equal(run.stdout, '');
        }),
        { numRuns: 25 },
      );
      assert.deepEqual(snapshotTree(parent), before, 'nothing was created or changed next to the data root');
    });

    it('the workflow, started without the client, refuses hostile input as the client would, changing nothing', async () => {
      const request = fc.record({ org: hostileValue, ns: hostileValue, to: hostileValue, mode: hostileValue }, { requiredKeys: [] });
      const input = fc.oneof(request, fc.jsonValue()).map((v) => JSON.parse(JSON.stringify(v ?? null)) as unknown);
      await withWorker(t, async (_m, taskQueue) => {
        // Taken once the cluster is served: starting its agents records their URLs.
        const before = snapshotTree(t.root);
        await fc.assert(
          fc.asyncProperty(input, async (value) => {
            const handle = await suite().client.workflow.start(WORKFLOW_TYPE, { taskQueue, workflowId: `hostile-${randomUUID()}`, args: [value] });
            const job = (await handle.result()) as Job;
            assert.equal(job.status, 'failed');
            assert.match(job.error ?? '', CLEAN_MESSAGE);
            for (const field of [job.org, job.ns, job.to]) assert.match(field, /^$|^[a-z0-9][a-z0-9_-]{0,62}$/);
            let local: unknown;
            try {
              parseMigrationRequest(value);
            } catch (err) {
              local = err;
            }
            if (local instanceof TasksdError) assert.deepEqual([job.errorType, job.error], [local.type, local.message], 'the same refusal as the client');
          }),
          { numRuns: 20 },
        );
        assert.deepEqual(snapshotTree(t.root), before);
      });
    });
  });
});
