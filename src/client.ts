/**
 * The `Consul` client: wires configuration, transport, endpoint groups and primitives
 * together. It holds no logic of its own beyond lifecycle.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import { Acl } from './api/acl/acl.js';
import { Agent } from './api/agent/agent.js';
import { Catalog } from './api/catalog/catalog.js';
import { Events } from './api/event.js';
import { Health } from './api/health/health.js';
import { KV } from './api/kv.js';
import { Session } from './api/session.js';
import { Status } from './api/status.js';
import { Txn } from './api/txn/txn.js';
import { PreparedQueries } from './api/query/query.js';
import { Coordinates } from './api/coordinate.js';
import { Operator } from './api/operator/operator.js';
import { Connect } from './api/connect/connect.js';
import { ConfigEntries } from './api/config-entry/config-entry.js';
import { Snapshots } from './api/snapshot.js';
import { resolveConfig, type ConsulOptions } from './config.js';
import { createDefaultLogger } from './logger.js';
import { registerService, type ServiceRegistration } from './primitives/registration/registration.js';
import { Election, type ElectionOptions } from './primitives/session/election.js';
import { Lock } from './primitives/session/lock.js';
import type { LockOptions } from './primitives/session/session-options.js';
import { Semaphore, type SemaphoreOptions } from './primitives/session/semaphore.js';
import { ConfigMap, type ConfigMapOptions } from './primitives/config/config-map.js';
import type { ConfigDecode, DecodedValue } from './primitives/config/config-decoders.js';
import { Balancer, type BalancerOptions } from './primitives/balancer/balancer.js';
import {
  LayeredConfig,
  type LayeredConfigOptions,
  type LayeredConfigValue,
} from './primitives/layered-config/layered-config.js';
import type { StandardSchemaV1 } from './primitives/layered-config/standard-schema.js';
import type { RegisterServiceOptions } from './primitives/registration/registration-options.js';
import { Transport, type TransportStats } from './transport/transport.js';
import type { WatchEngineStats } from './watch/engine.js';

/** What {@link Consul.stats} reports. */
export interface ConsulStats extends TransportStats {
  /** The watch engine: loops, scheduling on the blocking connections, coalescing, refusals. */
  watch: WatchEngineStats;
}
import { checkOptionKeys } from './options-check.js';
import {
  buildHealthReport,
  HEALTH_REPORT_OPTION_KEYS,
  type ClientHealthReport,
  type ClientHealthReportOptions,
} from './observability/health-report.js';
import {
  observeBalancer,
  observeElection,
  observeHeld,
  observeRegistration,
} from './observability/observe-primitives.js';
import { Telemetry } from './observability/telemetry.js';
import { SCHEDULING_DEFAULTS, WatchEngine } from './watch/engine.js';
import { Watches } from './watch/watches.js';

/** The agent probe of {@link Consul.healthReport} must answer well within a prober's own timeout. */
const HEALTH_PROBE_TIMEOUT = '2s';

function telemetryTarget(
  origin: string,
  socketPath: string | undefined,
): { address: string; port: number | undefined } {
  if (socketPath !== undefined) return { address: socketPath, port: undefined };
  const url = new URL(origin);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { address: url.hostname, port };
}

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
  /** The local agent: membership, its services and checks, maintenance (`/v1/agent`). */
  readonly agent: Agent;
  /** The catalog of nodes and services (`/v1/catalog`). */
  readonly catalog: Catalog;
  /** Services and checks with their health (`/v1/health`). */
  readonly health: Health;
  /** User events (`/v1/event`). */
  readonly event: Events;
  /** ACL tokens, policies, roles and the legacy ACL API (`/v1/acl`). */
  readonly acl: Acl;
  /** Atomic transactions (`/v1/txn`). */
  readonly txn: Txn;
  /** Prepared queries (`/v1/query`). */
  readonly query: PreparedQueries;
  /** Network coordinates (`/v1/coordinate`). */
  readonly coordinate: Coordinates;
  /** Raft peers, Autopilot and the gossip keyring (`/v1/operator`). */
  readonly operator: Operator;
  /** Connect intentions and the certificate authority (`/v1/connect`). */
  readonly connect: Connect;
  /** Config entries: service-defaults, proxy-defaults, routers, splitters, resolvers, gateways (`/v1/config`). */
  readonly configEntry: ConfigEntries;
  /** Snapshots of the servers' state: save and restore (`/v1/snapshot`). */
  readonly snapshot: Snapshots;
  /** The logger in use (pino). */
  readonly logger: Logger;
  /** Watches: live views of keys, prefixes, services, nodes, checks and events over shared blocking loops. */
  readonly watch: Watches;

  /** @internal Shared by the endpoint groups and the watcher. */
  readonly transport: Transport;
  /** @internal Metrics, spans, diagnostics channels and the state behind {@link Consul.healthReport}. */
  readonly telemetry: Telemetry;
  readonly #watchEngine: WatchEngine;
  readonly #resources = new Set<ClientResource>();
  #closing: Promise<void> | undefined;

  /**
   * @throws ValidationError when an option or environment variable is malformed
   */
  constructor(options: ConsulOptions = {}) {
    const config = resolveConfig(options);
    this.logger = options.logger ?? createDefaultLogger(options.env ?? process.env);
    this.telemetry = new Telemetry(options, telemetryTarget(config.origin, config.socketPath));
    this.transport = new Transport(config, this.logger, this.telemetry);
    this.kv = new KV(this.transport);
    this.session = new Session(this.transport);
    this.status = new Status(this.transport);
    this.agent = new Agent(this.transport);
    this.catalog = new Catalog(this.transport);
    this.health = new Health(this.transport);
    this.event = new Events(this.transport);
    this.acl = new Acl(this.transport);
    this.txn = new Txn(this.transport);
    this.query = new PreparedQueries(this.transport);
    this.coordinate = new Coordinates(this.transport);
    this.operator = new Operator(this.transport);
    this.connect = new Connect(this.transport);
    this.configEntry = new ConfigEntries(this.transport);
    this.snapshot = new Snapshots(this.transport);
    const watchEngine = new WatchEngine(this.logger, {
      slots: config.blockingSlots,
      ...SCHEDULING_DEFAULTS,
      // Refusals cost connections; over h2 one connection carries a whole set of streams.
      limitStep: config.blockingH2 ? config.blockingSlots / config.blockingConnections : 1,
      telemetry: this.telemetry,
    });
    this.#watchEngine = watchEngine;
    // Users' own blocking reads take turns with the watches, so the watches' bound holds.
    this.transport.useBlockingGate(watchEngine.scheduler.gate);
    this.track(watchEngine);
    this.telemetry.observeLoops(() => watchEngine.stats().loops);
    this.telemetry.observeConnections(() => {
      const { pools } = this.transport.stats();
      return { short: pools.short.connections, blocking: pools.blocking.connections };
    });
    this.watch = new Watches(watchEngine, this);
  }

  /**
   * Registers this process as an instance of a service with the local agent, keeps its TTL
   * check alive with heartbeats, registers it again when the agent forgets it, and
   * deregisters it on `stop()`, on `consul.close()` and (unless `handleSignals: false`) on
   * SIGTERM/SIGINT. Resolves once registered and the first heartbeat set the check. See
   * {@link RegisterServiceOptions} and {@link ServiceRegistration}.
   *
   * @example
   * ```ts
   * const registration = await consul.registerService({ name: 'web', port: 8080, health: () => 'passing' });
   * ```
   * @throws ValidationError for bad options, before any request
   */
  registerService(options: RegisterServiceOptions): Promise<ServiceRegistration> {
    return registerService(this, options).then((registration) =>
      observeRegistration(this.telemetry, registration),
    );
  }

  /**
   * A distributed lock on exactly `key` (Consul's `api.Lock` layout, so
   * `consul.lock('jobs/x/.lock')` contends with `consul lock jobs/x`). Nothing is sent until
   * `acquire()`. See {@link Lock}.
   *
   * @example
   * ```ts
   * await consul.lock('jobs/report/.lock').withLock(async (signal) => runReport(signal));
   * ```
   * @throws ValidationError for a bad key or options, before any request
   */
  lock(key: string, options: LockOptions = {}): Lock {
    const lock = new Lock(this, key, options);
    return observeHeld(this.telemetry, lock, 'lock', lock.key);
  }

  /**
   * A distributed semaphore of `limit` slots on `prefix` (Consul's `api.Semaphore` layout, so
   * it interoperates with `consul lock -n <limit> <prefix>`). See {@link Semaphore}.
   *
   * @throws ValidationError for a bad prefix, limit or options, before any request
   */
  semaphore(prefix: string, options: SemaphoreOptions): Semaphore {
    const semaphore = new Semaphore(this, prefix, options);
    return observeHeld(this.telemetry, semaphore, 'semaphore', semaphore.prefix);
  }

  /**
   * Leader election on `key`: `campaign()`, `isLeader`, `resign()`, `leader()`,
   * `runWhileLeader(job)`. See {@link Election}.
   *
   * @throws ValidationError for a bad key or options, before any request
   */
  election(key: string, options: ElectionOptions = {}): Election {
    return observeElection(this.telemetry, new Election(this, key, options));
  }

  /**
   * A watched config map: every key under `prefix` (a folder; keys are relative to it),
   * decoded with `decode` (`'string'` by default, `'json'`, `'buffer'` or a function), kept
   * current through the shared watcher. See {@link ConfigMap}.
   *
   * @example
   * ```ts
   * const cfg = consul.configMap('app/config', { decode: 'json' });
   * await cfg.ready();
   * cfg.on('change', ({ added, changed, removed }) => reload(cfg.toObject()));
   * ```
   * @throws ValidationError for a bad prefix or options, before any request
   */
  configMap<D extends ConfigDecode = 'string'>(
    prefix: string,
    options: ConfigMapOptions<D> = {},
  ): ConfigMap<DecodedValue<D>> {
    return new ConfigMap<DecodedValue<D>>(this, prefix, options);
  }

  /**
   * Application config merged from Spring-style layers in KV (`config/application`,
   * `config/application,<profile>`, `config/<name>`, `config/<name>,<profile>`; later layers
   * win, objects merge deeply), validated by an optional Standard Schema validator and kept
   * live through one watch on the root. See {@link LayeredConfig}.
   *
   * @example
   * ```ts
   * const config = consul.config({ name: 'billing', profiles: ['prod'], format: 'yaml', schema });
   * const settings = await config.ready();
   * config.on('change', ({ value, diff }) => apply(value, diff));
   * ```
   * @throws ValidationError for bad options, before any request
   */
  config<S extends StandardSchemaV1 | undefined = undefined>(
    options: LayeredConfigOptions<S>,
  ): LayeredConfig<LayeredConfigValue<S>> {
    return new LayeredConfig<LayeredConfigValue<S>>(this, options);
  }

  /**
   * A health-aware load balancer over the instances of `service` (passing ones by default),
   * kept current through the shared watcher: `pick()` with a strategy (`'p2c'` by default)
   * and `request(path, init)` over HTTP with retries on another instance. See {@link Balancer}.
   *
   * @example
   * ```ts
   * const lb = consul.balancer('api', { tag: 'v2' });
   * const response = await lb.request('/users/42');
   * ```
   * @throws ValidationError for a bad service name or options, before any request
   */
  balancer(service: string, options: BalancerOptions = {}): Balancer {
    return observeBalancer(this.telemetry, new Balancer(this, service, options));
  }

  /**
   * Request and connection counters of this client: connections per pool (protocol, budget,
   * running and queued requests, h2 streams per connection) and, under `watch`, the blocking
   * loops, their turns on the blocking connections (slots, queued loops, the current turn
   * wait and worst-case notification delay), coalesced KV folders and refused connections.
   */
  stats(): ConsulStats {
    return { ...this.transport.stats(), watch: this.#watchEngine.stats() };
  }

  /**
   * A snapshot for readiness and liveness endpoints: whether the agent answers (one
   * `/v1/status/leader` read, no retries, bounded by `timeout`), each registration's last
   * good heartbeat, the locks, semaphore slots and leaderships held, and the watches whose
   * reads are failing. Never rejects for an unreachable agent: that is what it reports.
   * (`consul.health` is Consul's `/v1/health` endpoint group.)
   *
   * @example
   * ```ts
   * http.createServer(async (req, res) => {
   *   const report = await consul.healthReport();
   *   res.writeHead(report.healthy ? 200 : 503, { 'content-type': 'application/json' });
   *   res.end(JSON.stringify(report));
   * });
   * ```
   * @throws ValidationError for a bad `timeout` or `signal`, UnknownOptionError for a key
   *   that is neither (a misspelt `timeuot` would leave the probe at its 2 s default)
   */
  async healthReport(options: ClientHealthReportOptions = {}): Promise<ClientHealthReport> {
    checkOptionKeys(options, HEALTH_REPORT_OPTION_KEYS, 'healthReport()');
    return buildHealthReport(
      this.telemetry.state,
      () =>
        this.status.leader({
          timeout: options.timeout ?? HEALTH_PROBE_TIMEOUT,
          retries: 0,
          ...(options.signal !== undefined && { signal: options.signal }),
        }),
      this.#watchEngine.stats().loops,
      options.signal,
    );
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
    this.telemetry.close();
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
