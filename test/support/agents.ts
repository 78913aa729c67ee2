// Real node agents for tests: the agent's HTTP server, its NodeStore and snapshot pins
// over a test cluster's node, listening on a free 127.0.0.1 port in this process.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createAgentServer } from '../../agent/http-server';
import { NodeStore } from '../../agent/node-store';
import { SnapshotPins, type SnapshotPinsOptions } from '../../agent/snapshots';
import { HttpTransport } from '../../transport/http';
import type { TestCluster } from './fixtures';

export const TEST_TOKEN = 'test-cluster-token-0123456789';

export interface TestAgent {
  nodeId: string;
  url: string;
  app: FastifyInstance;
  store: NodeStore;
  snapshots: SnapshotPins;
  /** A client of this agent with the right token (closed with the agent). */
  client: HttpTransport;
  close(): Promise<void>;
}

export async function startAgent(
  t: TestCluster,
  nodeId: string,
  options: { tls?: { cert: string; key: string }; ca?: string; pins?: SnapshotPinsOptions; port?: number } = {},
): Promise<TestAgent> {
  const store = new NodeStore(t.cluster, nodeId);
  const snapshots = new SnapshotPins(store, options.pins);
  const app = createAgentServer({
    nodeId,
    dir: await store.dir(),
    clusterId: t.cluster.catalog.clusterId,
    token: TEST_TOKEN,
    store,
    snapshots,
    tls: options.tls,
  });
  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const { port } = app.server.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const client = new HttpTransport({ url, token: TEST_TOKEN, ca: options.ca });
  return {
    nodeId,
    url,
    app,
    store,
    snapshots,
    client,
    async close() {
      await client.close();
      await app.close();
    },
  };
}
