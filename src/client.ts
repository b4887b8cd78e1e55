/**
 * The `Consul` client: wires configuration, transport, endpoint groups and primitives
 * together. It holds no logic of its own beyond lifecycle.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import { KV } from './api/kv.js';
import { Session } from './api/session.js';
import { Status } from './api/status.js';
import { resolveConfig, type ConsulOptions } from './config.js';
import { createDefaultLogger } from './logger.js';
import { Transport, type TransportStats } from './transport/transport.js';

/** Something the client must shut down when it closes (a watch, a lock, a registration…). */
export interface ClientResource {
  /** Stops the resource and releases what it holds in Consul. */
  close(): Promise<void>;
}

/**
 * A Consul client. Endpoint groups hang off it (`consul.kv`, `consul.session`, …) and so do
 * the primitives. Options default to the Consul CLI environment (`CONSUL_HTTP_ADDR`,
 * `CONSUL_HTTP_TOKEN`, …), then to `http://127.0.0.1:8500`.
 *
 * @example
 * ```ts
 * await using consul = new Consul();
 * await consul.kv.put('app/greeting', 'hello');
 * const entry = await consul.kv.get('app/greeting');
 * console.log(String(entry?.Value)); // "hello"
 * ```
 */
export class Consul implements AsyncDisposable {
  /** The KV store (`/v1/kv`). */
  readonly kv: KV;
  /** Sessions (`/v1/session`). */
  readonly session: Session;
  /** Raft status (`/v1/status`). */
  readonly status: Status;
  /** The logger in use (pino). */
  readonly logger: Logger;

  /** @internal Shared by the endpoint groups and the watcher. */
  readonly transport: Transport;
  readonly #resources = new Set<ClientResource>();
  #closing: Promise<void> | undefined;

  /**
   * @throws ValidationError when an option or environment variable is malformed
   */
  constructor(options: ConsulOptions = {}) {
    const config = resolveConfig(options);
    this.logger = options.logger ?? createDefaultLogger(options.env ?? process.env);
    this.transport = new Transport(config, this.logger);
    this.kv = new KV(this.transport);
    this.session = new Session(this.transport);
    this.status = new Status(this.transport);
  }

  /** Request and connection counters of this client. */
  stats(): TransportStats {
    return this.transport.stats();
  }

  /** Whether {@link Consul.close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** @internal Registers a long-lived resource so that {@link Consul.close} stops it. */
  track(resource: ClientResource): () => void {
    this.#resources.add(resource);
    return () => this.#resources.delete(resource);
  }

  /**
   * Stops every watch, heartbeat and renewal started through this client, releases what they
   * hold (locks, sessions, registrations), then closes the connections. Idempotent. Errors
   * from releasing are logged and the first one is rethrown after everything was closed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const resources = [...this.#resources];
    this.#resources.clear();
    const results = await Promise.allSettled(resources.map((resource) => resource.close()));
    await this.transport.close();
    const failures = results.filter(
      (result): result is PromiseRejectedResult => result.status === 'rejected',
    );
    for (const failure of failures)
      this.logger.error({ err: failure.reason }, 'consulkit: release during close failed');
    if (failures[0]) throw failures[0].reason;
  }

  /** Same as {@link Consul.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
