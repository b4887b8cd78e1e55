/**
 * Listening on a free loopback port, for the servers and proxies tests put in front of a
 * client: the port is known once this resolves, and close() does not wait for keep-alive
 * sockets to idle out.
 */
import type { Server, Socket } from 'node:net';

/** A server listening on `127.0.0.1:port`. */
export interface LoopbackListener {
  readonly port: number;
  /** Connections currently open. */
  readonly openCount: number;
  /** Destroys every open connection, then stops listening. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 at a random free port (an `http.Server` is a `net.Server` too). */
export async function listenOnLoopback(server: Server): Promise<LoopbackListener> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    get openCount() {
      return sockets.size;
    },
    close() {
      // Keep-alive sockets would hold server.close() open; tests want it immediate.
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
