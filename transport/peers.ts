// Transports to the cluster's node agents, by node id: the URL comes from the catalog
// (an agent records it when it starts), the token and CA from the environment. One
// transport per URL, reused, so a move's many calls share their connections.
import type { Catalog } from '../catalog/catalog';
import { ErrorType, TasksdError } from '../common/errors';
import { HttpTransport } from './http';
import type { ShardTransport } from './transport';

export class Peers {
  private readonly byUrl = new Map<string, HttpTransport>();

  constructor(
    private readonly catalog: Catalog,
    private readonly token: string,
    private readonly caFile?: string,
  ) {}

  /** The agent of `nodeId`, or NodeUnreachable when no agent serves it yet. */
  async to(nodeId: string): Promise<ShardTransport> {
    const node = await this.catalog.node(nodeId);
    if (!node.url) {
      throw new TasksdError(
        ErrorType.NodeUnreachable,
        `node ${nodeId} is not served by any agent yet: start "npm start" (embedded nodes) or "tasksd node serve ${nodeId}" on its host`,
      );
    }
    let transport = this.byUrl.get(node.url);
    if (!transport) {
      transport = new HttpTransport({ url: node.url, token: this.token, caFile: this.caFile });
      this.byUrl.set(node.url, transport);
    }
    return transport;
  }

  async close(): Promise<void> {
    await Promise.all([...this.byUrl.values()].map((t) => t.close()));
    this.byUrl.clear();
  }
}
