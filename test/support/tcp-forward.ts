// A small TCP forwarder in the test process: listens on one address and pipes every
// connection to a target (by default a service on 127.0.0.1). The tests' Temporal dev
// server and PostgreSQL listen on loopback in the root network namespace, which a
// process inside a test host's namespace (test/support/netns.ts) cannot reach; a
// forwarder on the bridge address exposes them there.
import * as net from 'node:net';

export interface TcpForwarder {
  /** Where clients connect: the listening host and port, and `host:port`. */
  host: string;
  port: number;
  address: string;
  /** The target every connection is piped to. */
  target: { host: string; port: number };
  /** Connections accepted so far, and how many are open now. */
  connections(): number;
  active(): number;
  /** Stops listening, destroys the open connections, resolves when the server has closed. */
  close(): Promise<void>;
}

export interface TcpForwardOptions {
  listenHost: string;
  /** 0 (the default) picks a free port. */
  listenPort?: number;
  targetPort: number;
  targetHost?: string;
}

export async function startTcpForwarder(options: TcpForwardOptions): Promise<TcpForwarder> {
  const target = { host: options.targetHost ?? '127.0.0.1', port: options.targetPort };
  const open = new Set<net.Socket>();
  const clients = new Set<net.Socket>();
  let accepted = 0;
  let closing = false;

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    accepted++;
    if (closing) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    open.add(client);
    open.add(upstream);
    clients.add(client);
    // Either side failing ends both: the client sees its connection reset, as it would
    // against the service itself.
    const teardown = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    client.on('close', () => {
      open.delete(client);
      clients.delete(client);
      // A client that closed before the upstream answered (or was reset) leaves nothing behind.
      if (!upstream.writableEnded) upstream.end();
    });
    upstream.on('close', () => {
      open.delete(upstream);
      if (!client.writableEnded) client.end();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.listenHost, port: options.listenPort ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address: host, port } = server.address() as net.AddressInfo;

  return {
    host,
    port,
    address: `${host}:${port}`,
    target,
    connections: () => accepted,
    active: () => clients.size,
    close: () => {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of open) socket.destroy();
      return closed;
    },
  };
}
