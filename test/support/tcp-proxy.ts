/**
 * A TCP proxy between a client under test and a real server, for fault tests: it can make
 * every connection silently dead (`blackhole`), heal it (`resume`) or cut it (`dropAll`).
 */
import type { Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { listenOnLoopback } from './loopback.js';

/** A running proxy from {@link startTcpProxy}. */
export interface TcpProxy {
  /** `127.0.0.1:PORT` the proxy listens on. */
  readonly address: string;
  readonly port: number;
  /** Number of client connections currently open. */
  readonly connectionCount: number;
  /**
   * Stops moving bytes in both directions on all current and new connections while keeping
   * every socket open: to both ends it looks like a network partition (no FIN, no RST).
   * Bytes sent meanwhile wait in socket buffers, as TCP retransmission would deliver them.
   */
  blackhole(): void;
  /**
   * Silences only the connections open now; new ones pass. What a NAT or firewall that
   * forgot its connections does: every existing connection is half-open, the path is fine.
   */
  blackholeExisting(): void;
  /** Forwards again, including the bytes held while blackholed. */
  resume(): void;
  /** Destroys every open connection (both sides), without closing the listener. */
  dropAll(): void;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
  /** Whether the pipes are attached (so resume() never pipes twice). */
  flowing: boolean;
}

/**
 * Starts a proxy on 127.0.0.1 (random port) forwarding to `target`, given as `host:port`,
 * `http(s)://host:port[/...]` or `{ host, port }`.
 */
export async function startTcpProxy(target: string | { host: string; port: number }): Promise<TcpProxy> {
  const { host, port } = parseTarget(target);
  const pairs = new Set<Pair>();
  let holding = false;

  const destroyPair = (pair: Pair): void => {
    pair.client.destroy();
    pair.upstream?.destroy();
    pairs.delete(pair);
  };

  const flow = (pair: Pair): void => {
    if (pair.flowing) return;
    pair.flowing = true;
    if (pair.upstream === undefined) {
      // Connect upstream only when forwarding: during a blackhole a new connection must not
      // reach the server either.
      const upstream = connect({ host, port });
      pair.upstream = upstream;
      upstream.setNoDelay(true);
      upstream.on('error', () => destroyPair(pair));
      upstream.on('close', () => destroyPair(pair));
    }
    pair.client.pipe(pair.upstream);
    pair.upstream.pipe(pair.client);
  };

  const hold = (pair: Pair): void => {
    pair.flowing = false;
    // unpipe before pause: a pipe would resume its source on the next 'drain'.
    pair.client.unpipe();
    pair.client.pause();
    if (pair.upstream !== undefined) {
      pair.upstream.unpipe();
      pair.upstream.pause();
    }
  };

  const server = createServer((client) => {
    const pair: Pair = { client, upstream: undefined, flowing: false };
    pairs.add(pair);
    client.setNoDelay(true);
    client.on('error', () => destroyPair(pair));
    client.on('close', () => destroyPair(pair));
    if (holding) client.pause();
    else flow(pair);
  });

  const { port: listenPort } = await listenOnLoopback(server);

  return {
    address: `127.0.0.1:${listenPort}`,
    port: listenPort,
    get connectionCount() {
      return pairs.size;
    },
    blackhole() {
      holding = true;
      for (const pair of pairs) hold(pair);
    },
    blackholeExisting() {
      for (const pair of pairs) hold(pair);
    },
    resume() {
      holding = false;
      for (const pair of pairs) flow(pair);
    },
    dropAll() {
      for (const pair of [...pairs]) destroyPair(pair);
    },
    close() {
      for (const pair of [...pairs]) destroyPair(pair);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function parseTarget(target: string | { host: string; port: number }): { host: string; port: number } {
  if (typeof target !== 'string') return target;
  const url = new URL(/^[a-z]+:\/\//i.test(target) ? target : `tcp://${target}`);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
}
