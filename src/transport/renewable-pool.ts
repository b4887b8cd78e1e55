/**
 * An undici pool that can be swapped for a fresh one when its connections are suspect.
 *
 * @packageDocumentation
 */
import { Client, Pool, type Dispatcher } from 'undici';
import type { Logger } from 'pino';

/**
 * Makes one connection (an undici `Client`) of a pool: given to the pool as its `factory`,
 * so that {@link RenewablePool.stats} can count the requests running on each connection.
 */
export type ConnectionFactory = (origin: URL, options: object) => Dispatcher;

/** Connections, running and queued requests of a {@link RenewablePool}. */
export interface RenewablePoolStats {
  connected: number;
  running: number;
  queued: number;
  /**
   * Requests running on each open connection (h2 streams), most first. Counted on the
   * connections made through the {@link ConnectionFactory} only; empty when the pool was
   * created without it.
   */
  runningPerConnection: number[];
}

/**
 * A {@link Pool} behind a handle that {@link RenewablePool.renew} can replace. A request that
 * gets no answer within its bound is usually on a half-open connection: the network path
 * died (a NAT or firewall forgot it, a peer vanished) without a FIN or RST. The pool's other
 * idle connections went the same way, and a retry that picks one of them waits a whole
 * timeout again. Renewing sends every later request over new connections, while requests
 * already running on the old pool finish there (it is closed gracefully, so its idle
 * connections go at once).
 */
export class RenewablePool {
  #current: Pool;
  readonly #create: (factory: ConnectionFactory) => Pool;
  /**
   * Per pool, the connections its factory made and it has not closed or dropped; a pool's
   * set goes with the pool, so renewals leave nothing behind.
   */
  readonly #clients = new Map<Pool, Set<Client>>();
  readonly #logger: Logger;
  readonly #name: string;
  readonly #retiring = new Set<Pool>();
  readonly #cutOnRenew: boolean;
  #renewals = 0;

  /**
   * @param cutOnRenew - destroy a replaced pool at once instead of letting its requests
   *   finish: the blocking pool's requests are long polls, and leaving them running on the
   *   old connections while the new pool opens more would break the connection budget (the
   *   watches retry on the new pool)
   * @param create - makes a pool; passing it the {@link ConnectionFactory} as undici's
   *   `factory` option lets {@link RenewablePool.stats} count requests per connection
   */
  constructor(
    name: string,
    create: (factory: ConnectionFactory) => Pool,
    logger: Logger,
    cutOnRenew = false,
  ) {
    this.#name = name;
    this.#create = create;
    this.#logger = logger;
    this.#current = this.#open();
    this.#cutOnRenew = cutOnRenew;
  }

  /** The pool new requests go to. */
  get current(): Pool {
    return this.#current;
  }

  /** Times the pool was renewed. */
  get renewals(): number {
    return this.#renewals;
  }

  /** Connections, running and queued requests, across the current pool and those still draining. */
  stats(): RenewablePoolStats {
    let connected = this.#current.stats.connected;
    let running = this.#current.stats.running;
    let queued = this.#current.stats.queued;
    for (const pool of this.#retiring) {
      connected += pool.stats.connected;
      running += pool.stats.running;
      queued += pool.stats.queued;
    }
    const runningPerConnection: number[] = [];
    for (const clients of this.#clients.values()) {
      for (const client of clients) {
        if (client.closed || client.destroyed) clients.delete(client);
        else if (client.stats.connected) runningPerConnection.push(client.stats.running);
      }
    }
    runningPerConnection.sort((a, b) => b - a);
    return { connected, running, queued, runningPerConnection };
  }

  #open(): Pool {
    const clients = new Set<Client>();
    const pool = this.#create((origin, options) => {
      // The options are the pool's own, as its default factory passes them on.
      const client = new Client(origin, options as Client.Options);
      clients.add(client);
      return client;
    });
    this.#clients.set(pool, clients);
    // A pool drops a connection that failed to connect without closing it: forget it too.
    pool.on('connectionError', (_origin, targets) => {
      for (const target of targets) if (target instanceof Client) clients.delete(target);
    });
    return pool;
  }

  /**
   * Replaces `suspect` with a fresh pool, if it is still the current one (several requests
   * timing out on the same dead pool renew it once; one that timed out on an older pool does
   * not throw away the fresh connections of the new one).
   */
  renew(suspect: Pool): void {
    if (suspect !== this.#current) return;
    this.#renewals++;
    this.#current = this.#open();
    this.#retiring.add(suspect);
    this.#logger.debug(
      { pool: this.#name },
      'consulkit: connections suspect after a timeout; using new ones',
    );
    (this.#cutOnRenew ? suspect.destroy() : suspect.close()).then(
      () => {
        this.#retiring.delete(suspect);
        this.#clients.delete(suspect);
      },
      (error: unknown) => {
        this.#retiring.delete(suspect);
        this.#clients.delete(suspect);
        this.#logger.warn(
          { err: error, pool: this.#name },
          'consulkit: closing a suspect connection pool failed',
        );
      },
    );
  }

  /** Closes every pool, letting running requests finish. */
  async close(): Promise<void> {
    await Promise.all([this.#current.close(), ...[...this.#retiring].map((pool) => pool.destroy())]);
  }

  /** Destroys every pool, cutting running requests. */
  async destroy(): Promise<void> {
    await Promise.all([this.#current.destroy(), ...[...this.#retiring].map((pool) => pool.destroy())]);
  }
}
