/**
 * A TCP relay in front of one agent's HTTP API whose latency can be changed at run time:
 * what a slow or congested link between an application and its local agent looks like.
 * Bytes keep their order; a delay applies to every chunk in both directions.
 */
import type { Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { ValidationError } from '../errors.js';

/** A running relay. */
export interface DelayRelay {
  /** `127.0.0.1:PORT` the relay listens on. */
  readonly hostPort: string;
  /** Current one-way delay in ms (0 = forward at once). */
  readonly delayMs: number;
  setDelay(ms: number): void;
  close(): Promise<void>;
}

/** Forwards `from` to `to`, holding each chunk for the relay's current delay. */
function forward(from: Socket, to: Socket, delay: () => number): void {
  // Chunks are released in order: a shorter delay set later never overtakes earlier bytes.
  let lastDue = 0;
  from.on('data', (chunk: Buffer) => {
    const ms = delay();
    if (ms <= 0 && lastDue <= Date.now()) {
      to.write(chunk);
      return;
    }
    const due = Math.max(Date.now() + ms, lastDue);
    lastDue = due;
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, due - Date.now());
  });
  from.on('end', () => {
    const wait = Math.max(0, lastDue - Date.now());
    setTimeout(() => to.end(), wait);
  });
}

/** Starts a relay on 127.0.0.1 (random port) to `host:port`. */
export async function startDelayRelay(host: string, port: number): Promise<DelayRelay> {
  let delayMs = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host, port });
    sockets.add(client);
    sockets.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const drop = (): void => {
      sockets.delete(client);
      sockets.delete(upstream);
      // A refused or reset upstream must look like a dead agent to the client: reset, not FIN.
      if (!client.destroyed) client.resetAndDestroy();
      if (!upstream.destroyed) upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    forward(client, upstream, () => delayMs);
    forward(upstream, client, () => delayMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve());
  });
  const address = server.address();
  const listenPort = typeof address === 'object' && address !== null ? address.port : 0;
  let closing: Promise<void> | undefined;
  return {
    hostPort: `127.0.0.1:${listenPort}`,
    get delayMs() {
      return delayMs;
    },
    setDelay(ms: number) {
      if (!Number.isFinite(ms) || ms < 0)
        throw new ValidationError('ms', `must be a finite number ≥ 0, not ${ms}`);
      delayMs = ms;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        sockets.clear();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
