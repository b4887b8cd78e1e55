/**
 * A TCP server that accepts connections and never writes a byte: the shape of a hung
 * server, for testing client timeouts (connect succeeds, response never comes).
 */
import type { Socket } from 'node:net';
import { createServer } from 'node:net';

/** A running server from {@link startSilentServer}. */
export interface SilentServer {
  /** `127.0.0.1:PORT`. */
  readonly address: string;
  /** `http://127.0.0.1:PORT`, for HTTP clients. */
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far (including closed ones). */
  readonly acceptedCount: number;
  /** Connections currently open. */
  readonly openCount: number;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 (random port). Incoming bytes are read and discarded. */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('data', () => undefined); // drain so the client never blocks on writes
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    address: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    port,
    get acceptedCount() {
      return accepted;
    },
    get openCount() {
      return sockets.size;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
