/**
 * A TCP server that accepts connections and never writes a byte: the shape of a hung
 * server, for testing client timeouts (connect succeeds, response never comes).
 */
import { createServer } from 'node:net';
import { listenOnLoopback } from './loopback.js';

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
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    socket.on('data', () => undefined); // drain so the client never blocks on writes
    socket.on('error', () => undefined);
  });
  const listener = await listenOnLoopback(server);
  const port = listener.port;
  return {
    address: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    port,
    get acceptedCount() {
      return accepted;
    },
    get openCount() {
      return listener.openCount;
    },
    close: () => listener.close(),
  };
}
