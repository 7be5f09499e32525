/**
 * A TCP proxy on 127.0.0.1 for fault injection between the service and a server it depends on
 * (PostgreSQL): {@link TcpProxy.cut} destroys every open connection and stops listening, so new
 * connections are refused (ECONNREFUSED), as when the database host goes away; {@link TcpProxy.restore}
 * listens again on the same port.
 *
 * @module
 */
import net from 'node:net';
import type { TestContext } from 'node:test';

export interface TcpProxy {
  /** The port the proxy listens on (stable across cut/restore). */
  readonly port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Destroys all proxied connections (both sides) and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts and forwards connections again, on the same port. */
  restore(): Promise<void>;
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Starts a proxy from a free port to `targetHost:targetPort`; it is closed when the test ends. */
export async function startTcpProxy(t: TestContext, targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    const upstream = net.connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      // Either side failing takes the other down, as a broken link would.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await listen(server, 0);
  const destroyAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  const stopListening = () =>
    new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  t.after(async () => {
    destroyAll();
    await stopListening();
  });
  return {
    port,
    accepted: () => accepted,
    async cut() {
      const closed = stopListening();
      destroyAll();
      await closed;
    },
    async restore() {
      if (!server.listening) await listen(server, port);
    },
  };
}
