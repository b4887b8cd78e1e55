/**
 * An undici pool that can be swapped for a fresh one when its connections are suspect.
 *
 * @packageDocumentation
 */
import { Pool } from 'undici';
import type { Logger } from 'pino';

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
  readonly #create: () => Pool;
  readonly #logger: Logger;
  readonly #name: string;
  readonly #retiring = new Set<Pool>();
  #renewals = 0;

  constructor(name: string, create: () => Pool, logger: Logger) {
    this.#name = name;
    this.#create = create;
    this.#logger = logger;
    this.#current = create();
  }

  /** The pool new requests go to. */
  get current(): Pool {
    return this.#current;
  }

  /** Times the pool was renewed. */
  get renewals(): number {
    return this.#renewals;
  }

  /** Connections and running requests, across the current pool and those still draining. */
  stats(): { connected: number; running: number } {
    let connected = this.#current.stats.connected;
    let running = this.#current.stats.running;
    for (const pool of this.#retiring) {
      connected += pool.stats.connected;
      running += pool.stats.running;
    }
    return { connected, running };
  }

  /**
   * Replaces `suspect` with a fresh pool, if it is still the current one (several requests
   * timing out on the same dead pool renew it once; one that timed out on an older pool does
   * not throw away the fresh connections of the new one).
   */
  renew(suspect: Pool): void {
    if (suspect !== this.#current) return;
    this.#renewals++;
    this.#current = this.#create();
    this.#retiring.add(suspect);
    this.#logger.debug(
      { pool: this.#name },
      'consulkit: connections suspect after a timeout; using new ones',
    );
    suspect.close().then(
      () => this.#retiring.delete(suspect),
      (error: unknown) => {
        this.#retiring.delete(suspect);
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
