// One real Temporal dev server (the installed CLI, on free ports) and one workflow
// bundle for the whole run (build/workflows.js when current, see
// temporal/workflow-bundle.ts; bundled here otherwise); each test gets its own task queue and data root.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, type WorkflowBundleOption } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../../temporal/dev-server';
import { workflowBundle } from '../../temporal/workflow-bundle';

interface Shared {
  server: DevServer;
  bundle: WorkflowBundleOption;
  connection: Connection;
  client: Client;
  workerConnection: NativeConnection;
  scratch: string;
}

let shared: Shared | undefined;

export function suite(): Shared {
  if (!shared) throw new Error('the root hooks did not start the test server');
  return shared;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(180_000);
    // Expected activity failures are logged as warnings; the tests assert them instead.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tasksd-test-'));
    const [server, bundle] = await Promise.all([
      startDevServer({ dbFile: path.join(scratch, 'temporal.db'), headless: false }),
      workflowBundle(() => {}, { logger: new DefaultLogger('WARN') }),
    ]);
    const connection = await Connection.connect({ address: server.address });
    const workerConnection = await NativeConnection.connect({ address: server.address });
    shared = { server, bundle, connection, client: new Client({ connection }), workerConnection, scratch };
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    if (!shared) return;
    await shared.connection.close();
    await shared.workerConnection.close();
    await shared.server.stop();
    if (!process.env.KEEP_TEST_FILES) fs.rmSync(shared.scratch, { recursive: true, force: true });
  },
};
