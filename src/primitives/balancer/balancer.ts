/**
 * A health-aware client-side load balancer: the healthy instances of a service, kept current
 * through the shared watcher (`consul.watch.service`), a strategy to pick one, and an HTTP
 * helper that sends to a picked instance and retries on another one.
 *
 * @packageDocumentation
 */
import { setMaxListeners } from 'node:events';
import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import type { HeadersInit } from 'undici';
import { Headers } from 'undici';
import type { ServiceEntry } from '../../api/health.js';
import type { ClientResource } from '../../client.js';
import { toMilliseconds, type Duration } from '../../duration.js';
import { ClosedError, ConsulUnavailableError, TimeoutError, ValidationError } from '../../errors.js';
import { safeEmit } from '../../safe-emit.js';
import { abortable, timeoutSignal } from '../../timing/index.js';
import type { WatchOptions } from '../../watch/types.js';
import type { ServiceWatchOptions, Watches } from '../../watch/watches.js';
import {
  BalancerResponse,
  classifyFailure,
  InstanceHttpClient,
  type BalancerTlsOptions,
  type InstanceAnswer,
} from './balancer-http.js';
import {
  membersInRotation,
  OutlierDetector,
  resolveOutlierSettings,
  type OutlierDetectionOptions,
} from './balancer-outliers.js';
import {
  createStrategy,
  diffMembers,
  memberKey,
  toMembers,
  type BalancerInstance,
  type BalancerMember,
  type BalancerStrategy,
  type BalancerStrategyName,
} from './balancer-strategies.js';
import { checkSignal, WatchedLifecycle } from '../shared/watched-lifecycle.js';

/** @internal What a balancer needs from the client (the `Consul` class provides it). */
export interface BalancerHost {
  readonly watch: Watches;
  readonly logger: Logger;
  track(resource: ClientResource): () => void;
}

/** Options of {@link Consul.balancer}. */
export interface BalancerOptions {
  /** Only instances that carry this tag (or all of these tags). */
  tag?: string | readonly string[];
  /** Datacenter of the service. Default: the client's. */
  datacenter?: string;
  /** How an instance is chosen; see {@link BalancerStrategyName}. Default `'p2c'`. */
  strategy?: BalancerStrategyName;
  /**
   * Use only instances whose checks all pass (node checks included). Default true. With
   * false, instances with a warning check are used too (weighted by `Weights.Warning` under
   * `'weighted'`); critical instances never are.
   */
  passingOnly?: boolean;
  /**
   * Attempts one `request()` makes at most, each on another instance. Default 3. A call
   * never sends to the same instance twice, so it also stops when every instance was tried.
   */
  maxAttempts?: number;
  /**
   * Default per-attempt bound of `request()`: the longest wait for the response headers, then
   * between two chunks of the body. Default: undici's (300 s).
   */
  requestTimeout?: Duration;
  /** Longest time to connect to an instance. Default 10 s. */
  connectTimeout?: Duration;
  /** Scheme of the requests to instances. Default `'https'` when `tls` is given, else `'http'`. */
  scheme?: 'http' | 'https';
  /** TLS settings for instances that serve HTTPS (CA, client certificate, server name). */
  tls?: BalancerTlsOptions;
  /** ACL token for the watch (needs `service:read` on the service and `node:read`). Default: the client's. */
  token?: string;
  /** Consistency mode of the watch's reads. Default: the client's. */
  consistency?: ServiceWatchOptions['consistency'];
  /** Read through the agent's cache (`?cached`); see `consul.watch.service`. Default false. */
  cached?: boolean;
  /** Loop settings of the underlying watch (`wait`, `timeout`, `minInterval`, `backoff`). */
  watch?: Pick<WatchOptions, 'wait' | 'timeout' | 'minInterval' | 'backoff'>;
  /**
   * Passive outlier detection: an instance whose calls fail several times in a row
   * (connection failures, timeouts, 5xx) leaves the rotation for a while, even though Consul
   * still lists it, until its checks catch up. On by default (5 failures, 30 s, at most 50%
   * of the instances); `false` turns it off. See {@link OutlierDetectionOptions}.
   */
  outlierDetection?: OutlierDetectionOptions | false;
  /** Closes the balancer when aborted. */
  signal?: AbortSignal;
}

/** Options of one {@link Balancer.request} call. */
export interface BalancerRequestInit {
  /** HTTP method. Default `GET`. */
  method?: string;
  /** Request headers. */
  headers?: HeadersInit;
  /** Request body. Only replayable bodies are accepted, since a retry sends it again. */
  body?: string | Uint8Array | null;
  /** Aborts the call; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Per-attempt bound for this call (see {@link BalancerOptions.requestTimeout}). */
  timeout?: Duration;
  /** Attempts for this call (see {@link BalancerOptions.maxAttempts}). */
  maxAttempts?: number;
}

/** Payload of a balancer's `change` event. */
export interface BalancerChange {
  /** Instances now in rotation that were not. */
  readonly added: readonly BalancerInstance[];
  /** Instances taken out of rotation (deregistered, or no longer healthy). */
  readonly removed: readonly BalancerInstance[];
  /** Instances still in rotation whose address, port, tags, meta, status or weight changed. */
  readonly updated: readonly BalancerInstance[];
  /** Every instance in rotation now. */
  readonly instances: readonly BalancerInstance[];
}

/** Events of a {@link Balancer}. */
export interface BalancerEvents {
  /** The set of instances in rotation changed. Not emitted for the initial list (`ready()` gives it). */
  change: (change: BalancerChange) => void;
  /**
   * The watch failed. Failures the watch retries (Consul unreachable, 5xx, a refused token
   * (403), which a token rotation or a late policy heals) are reported each time while the
   * last known instances stay in use; a fatal one (such as a 400) stops the balancer. Also
   * logged.
   */
  error: (error: Error) => void;
  /** Outlier detection took an instance out of rotation (also logged at `warn`). */
  ejected: (ejection: BalancerEjection) => void;
}

/** Payload of a balancer's `ejected` event. */
export interface BalancerEjection {
  /** The instance taken out of rotation. */
  readonly instance: BalancerInstance;
  /** Failures in a row that led to it. */
  readonly failures: number;
  /** How long it stays out, in milliseconds; it then returns to rotation by itself. */
  readonly ejectionTimeMs: number;
  /** The last failure, as a message. */
  readonly reason: string;
}

/** Methods whose requests may be sent twice: a 5xx or a broken connection is retried elsewhere. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** undici's own headers and body timeouts, which apply when no `requestTimeout` is given. */
const UNDICI_TIMEOUT_MS = 300_000;

function attemptsOption(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 100)
    throw new ValidationError(field, `must be an integer from 1 to 100, not ${String(value)}`);
  return value;
}

const isPem = (value: unknown): boolean => typeof value === 'string' || Buffer.isBuffer(value);

/** Checks the `tls` option before anything is opened; TLS settings on plain HTTP would be ignored. */
function validateTls(tls: BalancerTlsOptions | undefined, scheme: 'http' | 'https'): void {
  if (tls === undefined) return;
  if (tls === null || typeof tls !== 'object') throw new ValidationError('tls', 'must be an object');
  if (scheme !== 'https') throw new ValidationError('tls', "applies to scheme 'https' only");
  for (const field of ['ca', 'cert', 'key'] as const) {
    if (tls[field] !== undefined && !isPem(tls[field]))
      throw new ValidationError(`tls.${field}`, 'must be PEM contents (a string or a Buffer)');
  }
  if ((tls.cert === undefined) !== (tls.key === undefined))
    throw new ValidationError('tls', 'a client certificate needs both cert and key');
  if (tls.serverName !== undefined && (typeof tls.serverName !== 'string' || tls.serverName === ''))
    throw new ValidationError('tls.serverName', 'must be a non-empty string');
  if (tls.rejectUnauthorized !== undefined && typeof tls.rejectUnauthorized !== 'boolean')
    throw new ValidationError('tls.rejectUnauthorized', 'must be a boolean');
}

function positiveDuration(field: string, value: Duration | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = toMilliseconds(value, field);
  if (ms <= 0) throw new ValidationError(field, 'must be positive');
  return ms;
}

interface ResolvedRequest {
  readonly method: string;
  readonly headers: Headers;
  readonly body: string | Uint8Array | undefined;
  readonly maxAttempts: number;
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
}

/** Validates one `request()` call, before anything is sent. */
function resolveRequest(
  path: unknown,
  init: BalancerRequestInit,
  defaults: { maxAttempts: number; timeoutMs: number | undefined },
): ResolvedRequest {
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw new ValidationError('path', `must be a string starting with '/', not ${String(path)}`);
  if (init === null || typeof init !== 'object') throw new ValidationError('init', 'must be an object');
  const method = (init.method ?? 'GET').toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new ValidationError('method', `'${method}' is not an HTTP method`);
  const body = init.body ?? undefined;
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array))
    throw new ValidationError(
      'body',
      'must be a string or a Uint8Array (a retry must be able to send it again)',
    );
  if (body !== undefined && (method === 'GET' || method === 'HEAD'))
    throw new ValidationError('body', `a ${method} request cannot have a body`);
  let headers: Headers;
  try {
    headers = new Headers(init.headers);
  } catch (error) {
    throw new ValidationError('headers', describeError(error));
  }
  checkRequestHeaders(headers);
  if (init.signal !== undefined && !(init.signal instanceof AbortSignal))
    throw new ValidationError('signal', 'must be an AbortSignal');
  return {
    method,
    headers,
    body,
    maxAttempts: attemptsOption('maxAttempts', init.maxAttempts, defaults.maxAttempts),
    timeoutMs: positiveDuration('timeout', init.timeout) ?? defaults.timeoutMs,
    signal: init.signal,
  };
}

/**
 * Request headers undici refuses to send (it manages the connection and the framing itself).
 * Caught here, as bad input: left to undici, each call would fail as if the instance had.
 */
const REFUSED_HEADERS = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect', 'content-length']);

function checkRequestHeaders(headers: Headers): void {
  for (const name of REFUSED_HEADERS) {
    if (headers.has(name))
      throw new ValidationError('headers', `'${name}' is set by the HTTP client and cannot be given`);
  }
  const connection = headers.get('connection')?.toLowerCase();
  if (connection !== undefined && connection !== 'close' && connection !== 'keep-alive')
    throw new ValidationError(
      'headers',
      `'connection' may only be 'close' or 'keep-alive', not '${connection}'`,
    );
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code)
    ? `${error.message} (${code})`
    : error.message;
}

/**
 * The healthy instances of a service, kept current, and a way to pick one. Created by
 * `consul.balancer()`.
 *
 * - Instances come from `/v1/health/service/<service>` through the shared watcher: a
 *   failing check takes an instance out of rotation as soon as Consul reports it. While the
 *   watch cannot reach Consul, the last known instances stay in use.
 * - `pick()` applies the strategy; `request()` sends an HTTP request to a picked instance
 *   and retries on another one (see {@link Balancer.request}).
 *
 * @example
 * ```ts
 * const lb = consul.balancer('api', { tag: 'v2' });
 * await lb.ready();
 * const response = await lb.request('/users/42');
 * console.log(response.instance.id, await response.json());
 * ```
 */
export class Balancer extends EventEmitter<BalancerEvents> implements ClientResource, AsyncDisposable {
  /** The service name. */
  readonly service: string;
  /** The strategy in use. */
  readonly strategy: BalancerStrategyName;

  readonly #logger: Logger;
  readonly #strategy: BalancerStrategy;
  readonly #description: string;
  readonly #maxAttempts: number;
  readonly #requestTimeoutMs: number | undefined;
  readonly #includeWarning: boolean;
  readonly #http: InstanceHttpClient;
  readonly #outliers: OutlierDetector | undefined;
  readonly #ejectionTimeMs: number;
  readonly #lifecycle: WatchedLifecycle<ServiceEntry[], BalancerInstance[]>;
  /** Aborted on close: ends every request still running. */
  readonly #closer = new AbortController();
  readonly #outstanding = new Map<string, number>();
  #members: readonly BalancerMember[] | undefined;

  /**
   * @internal Use `consul.balancer(service, options)`.
   * @throws ValidationError for a bad service name or options
   */
  constructor(host: BalancerHost, service: string, options: BalancerOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new ValidationError('options', 'must be an object');
    const {
      tag,
      datacenter,
      strategy,
      passingOnly = true,
      maxAttempts,
      requestTimeout,
      connectTimeout,
      tls,
      scheme = tls === undefined ? 'http' : 'https',
      token,
      consistency,
      cached,
      watch: loop = {},
      outlierDetection,
      signal,
    } = options;
    if (typeof passingOnly !== 'boolean') throw new ValidationError('passingOnly', 'must be a boolean');
    if (scheme !== 'http' && scheme !== 'https')
      throw new ValidationError('scheme', `must be 'http' or 'https', not ${String(scheme)}`);
    validateTls(tls, scheme);
    const outlierSettings = resolveOutlierSettings(outlierDetection);
    checkSignal(signal);
    const chosen = createStrategy(strategy);
    const attempts = attemptsOption('maxAttempts', maxAttempts, DEFAULT_MAX_ATTEMPTS);
    const requestTimeoutMs = positiveDuration('requestTimeout', requestTimeout);
    const connectTimeoutMs = positiveDuration('connectTimeout', connectTimeout) ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const watchOptions: ServiceWatchOptions = {
      ...loop,
      passing: passingOnly,
      ...(tag !== undefined && { tag }),
      ...(datacenter !== undefined && { datacenter }),
      ...(token !== undefined && { token }),
      ...(consistency !== undefined && { consistency }),
      ...(cached !== undefined && { cached }),
    };
    // Opened last among the checks: it validates the name and the watch options, and once it
    // exists the balancer must be closed to release it.
    const watch = host.watch.service(service, watchOptions);
    super();
    this.service = service;
    this.strategy = chosen.name;
    this.#strategy = chosen;
    this.#maxAttempts = attempts;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#includeWarning = !passingOnly;
    this.#description = [
      `service '${service}'`,
      ...(tag !== undefined ? [`tag ${[tag].flat().join(',')}`] : []),
      ...(datacenter !== undefined ? [`datacenter ${datacenter}`] : []),
      passingOnly ? 'passing only' : 'passing or warning',
    ].join(', ');
    this.#logger = host.logger.child({ primitive: 'balancer', service });
    this.#http = new InstanceHttpClient({ scheme, connectTimeoutMs, tls });
    this.#outliers = outlierSettings === undefined ? undefined : new OutlierDetector(outlierSettings);
    this.#ejectionTimeMs = outlierSettings?.ejectionTimeMs ?? 0;
    // Every running request listens on this signal (undici adds one listener per request):
    // many concurrent requests are normal here, not a leak.
    setMaxListeners(0, this.#closer.signal);
    this.#lifecycle = new WatchedLifecycle({
      what: 'balancer',
      watch,
      logger: this.#logger,
      resource: this,
      track: (resource) => host.track(resource),
      signal,
      apply: (entries) => this.#apply(entries),
      reportError: (error) => this.#emit('error', error),
      // A stopped balancer no longer follows Consul: its last list would only grow stale.
      onStop: () => {
        this.#members = undefined;
      },
      closeAlso: () => {
        this.#closer.abort(new ClosedError('the balancer was closed'));
        return this.#http.close();
      },
    });
  }

  /** Whether the balancer has stopped: closed, or its watch failed fatally. */
  get closed(): boolean {
    return this.#lifecycle.closed;
  }

  /**
   * Resolves with the instances in rotation once the service was read (at once if it has
   * been); an empty list when none is healthy.
   *
   * @throws the watch's fatal error (e.g. `PermissionDeniedError`), or `ClosedError` if the
   *   balancer was closed first
   */
  ready(): Promise<BalancerInstance[]> {
    return this.#lifecycle.ready(this.#members === undefined ? undefined : this.instances());
  }

  /** The instances in rotation, ordered by node then ID; empty before `ready()` and once closed. */
  instances(): BalancerInstance[] {
    return (this.#members ?? []).map((member) => member.instance);
  }

  /**
   * The instances that outlier detection has taken out of rotation now (a subset of
   * {@link instances}, which is Consul's view); `pick()` and `request()` skip them.
   */
  ejected(): BalancerInstance[] {
    const keys = new Set(this.#outliers?.ejectedKeys(performance.now()) ?? []);
    return (this.#members ?? []).filter((member) => keys.has(member.key)).map((member) => member.instance);
  }

  /**
   * Picks an instance with the strategy; `undefined` when none is in rotation, before
   * `ready()`, and once the balancer is closed (it no longer knows what Consul says).
   */
  pick(): BalancerInstance | undefined {
    return this.#pickMember(new Set())?.instance;
  }

  /** Requests `lb.request()` has outstanding on an instance now (what `'p2c'` compares). */
  outstanding(instance: Pick<BalancerInstance, 'node' | 'id'>): number {
    return this.#outstanding.get(memberKey(instance.node, instance.id)) ?? 0;
  }

  /**
   * Sends an HTTP request to a picked instance (`<scheme>://<address>:<port><path>`) and
   * resolves with its response, a standard Fetch `Response` that also tells which
   * `instance` answered and after how many `attempts`. Waits for `ready()` first, for at most
   * the call's timeout (`timeout`, else `requestTimeout`, else undici's 300 s): while Consul
   * has never answered, the call fails with `TimeoutError` rather than waiting for good.
   *
   * Retries, each on an instance this call has not tried yet, up to `maxAttempts`:
   * - when the connection could not be made (refused, unreachable, connect timeout), for
   *   any method, since the instance never saw the request;
   * - when the connection broke after the request was sent, and on a 5xx answer, only for
   *   idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE, TRACE).
   * A 5xx on the last attempt is returned as it is; an attempt that gets no response headers
   * within the timeout is not retried (the instance may still be working on it). A request is
   * outstanding on its instance (for `'p2c'`) until its response headers arrive. Every failed
   * attempt and 5xx counts towards outlier detection; instances it has ejected are skipped.
   *
   * @param path - path and query string, starting with `/`
   * @throws ConsulUnavailableError when no instance is in rotation, or when every attempt
   *   failed to get a response (its `cause` is the last failure)
   * @throws TimeoutError when an attempt got no response headers in time, or when Consul
   *   had not answered the balancer's first read within the timeout
   * @throws ClosedError when the balancer was closed before or during the call
   * @throws the signal's reason when `init.signal` aborted the call
   * @throws ValidationError for a bad path or init, before anything is sent
   */
  async request(path: string, init: BalancerRequestInit = {}): Promise<BalancerResponse> {
    const {
      method,
      headers,
      body,
      maxAttempts,
      timeoutMs,
      signal: callerSignal,
    } = resolveRequest(path, init, {
      maxAttempts: this.#maxAttempts,
      timeoutMs: this.#requestTimeoutMs,
    });
    // The query string may carry user data: messages and logs name the path only.
    const route = path.split('?')[0] ?? path;
    const ending = this.#lifecycle.ending;
    if (ending !== undefined) throw ending.reason;
    callerSignal?.throwIfAborted();
    await this.#whenReady(callerSignal, timeoutMs ?? UNDICI_TIMEOUT_MS);
    const signal = callerSignal ? AbortSignal.any([this.#closer.signal, callerSignal]) : this.#closer.signal;
    const idempotent = IDEMPOTENT_METHODS.has(method);
    const tried = new Set<string>();
    let lastFailure: { error: unknown; instance: BalancerInstance } | undefined;

    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const member = this.#pickMember(tried);
      if (member === undefined) break;
      tried.add(member.key);
      const { instance } = member;
      let answer: InstanceAnswer;
      this.#begin(member.key);
      try {
        answer = await this.#http.send(instance, { method, path, headers, body, timeoutMs, signal });
      } catch (error) {
        if (this.#closer.signal.aborted) throw new ClosedError('the balancer was closed');
        if (callerSignal?.aborted) throw callerSignal.reason;
        const failure = classifyFailure(error);
        const origin = this.#http.originOf(instance);
        // Only failures of the instance or the path to it count; a request undici refuses to
        // send or a certificate this client cannot verify would eject healthy instances.
        if (failure !== 'other') this.#recordFailure(member, describeError(error));
        if (failure === 'timeout') {
          throw new TimeoutError(
            `${this.#description}: instance ${instance.id} at ${origin} sent no response headers within ${timeoutMs ?? UNDICI_TIMEOUT_MS} ms`,
            timeoutMs ?? UNDICI_TIMEOUT_MS,
            { cause: error },
          );
        }
        lastFailure = { error, instance };
        const retryable = failure === 'not-sent' || (failure === 'connection' && idempotent);
        this.#logger.debug(
          { err: error, instance: instance.id, origin, attempt, retryable },
          'consulkit: a balanced request failed',
        );
        if (!retryable) {
          throw new ConsulUnavailableError(
            `${this.#description}: ${method} ${route} to instance ${instance.id} at ${origin} failed: ${describeError(error)}`,
            { cause: error },
          );
        }
        continue;
      } finally {
        this.#end(member.key);
      }
      if (answer.status >= 500) this.#recordFailure(member, `HTTP ${answer.status}`);
      else this.#outliers?.recordSuccess(member.key);
      if (answer.status >= 500 && idempotent && attempt < maxAttempts && this.#hasUntried(tried)) {
        // Should the next pick find nothing after all (another call ejected the last untried
        // instance meanwhile), the call fails naming this answer.
        lastFailure = {
          error: new Error(`answered HTTP ${answer.status} ${answer.statusText}`.trim()),
          instance,
        };
        this.#logger.debug(
          { instance: instance.id, status: answer.status, attempt },
          'consulkit: a balanced request got a 5xx; retrying on another instance',
        );
        await this.#http
          .discard(answer)
          .catch((error: unknown) =>
            this.#logger.debug(
              { err: error },
              'consulkit: dropping a 5xx response body failed; its connection is closed',
            ),
          );
        continue;
      }
      return this.#http.respond(answer, instance, attempt);
    }

    if (lastFailure !== undefined) {
      throw new ConsulUnavailableError(
        `${this.#description}: ${method} ${route} failed on ${tried.size} instance(s); the last, ${lastFailure.instance.id} at ${this.#http.originOf(lastFailure.instance)}: ${describeError(lastFailure.error)}`,
        { cause: lastFailure.error },
      );
    }
    throw new ConsulUnavailableError(`${this.#description}: no instance is available`);
  }

  /**
   * Stops the watch and closes the connections to instances: requests still running fail
   * with `ClosedError`, and response bodies still being read are cut off. Idempotent.
   */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  /** Same as {@link Balancer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #apply(entries: readonly ServiceEntry[]): void {
    const next = toMembers(entries, this.#includeWarning);
    const previous = this.#members;
    this.#members = next;
    this.#outliers?.retain(new Set(next.map((member) => member.key)));
    if (previous !== undefined && this.#outliers !== undefined) {
      // An instance re-registered under the same ID at a new address is a new process.
      const before = new Map(previous.map((member) => [member.key, member.instance]));
      for (const member of next) {
        const old = before.get(member.key);
        if (
          old !== undefined &&
          (old.address !== member.instance.address || old.port !== member.instance.port)
        )
          this.#outliers.forget(member.key);
      }
    }
    if (previous === undefined) {
      this.#lifecycle.resolveReady(this.instances());
      return;
    }
    const diff = diffMembers(previous, next);
    if (diff.added.length + diff.removed.length + diff.updated.length === 0) return;
    this.#emit('change', { ...diff, instances: this.instances() });
  }

  #pickMember(tried: ReadonlySet<string>): BalancerMember | undefined {
    // Ejected instances leave the candidate list itself rather than joining `exclude`: for a
    // strategy, exclusions mean "a retry", which round-robin serves without moving its turn.
    return this.#strategy.pick(this.#inRotation(), {
      outstanding: (key) => this.#outstanding.get(key) ?? 0,
      random: Math.random,
      exclude: tried,
    });
  }

  #hasUntried(tried: ReadonlySet<string>): boolean {
    return this.#inRotation().some((member) => !tried.has(member.key) && this.#pickable(member));
  }

  /**
   * Consul's instances minus those outlier detection has ejected now; all of Consul's
   * instances when that would leave none to pick (the list shrank while some were ejected).
   */
  #inRotation(): readonly BalancerMember[] {
    return membersInRotation(
      this.#members ?? [],
      this.#outliers?.ejectedKeys(performance.now()) ?? [],
      (member) => this.#pickable(member),
    );
  }

  /** Whether the strategy may ever pick `member` (weight 0 is out under `'weighted'` only). */
  #pickable(member: BalancerMember): boolean {
    return this.strategy !== 'weighted' || member.weight > 0;
  }

  #recordFailure(member: BalancerMember, reason: string): void {
    // The cap counts the instances a pick could ever choose, so weight-0 instances under
    // 'weighted' cannot make room for ejecting the only one that takes traffic.
    const pickable = (this.#members ?? []).filter((candidate) => this.#pickable(candidate)).length;
    const verdict = this.#outliers?.recordFailure(member.key, pickable, performance.now());
    if (verdict?.ejected !== true) return;
    const ejection: BalancerEjection = {
      instance: member.instance,
      failures: verdict.failures,
      ejectionTimeMs: this.#ejectionTimeMs,
      reason,
    };
    this.#logger.warn(
      {
        instance: member.instance.id,
        failures: verdict.failures,
        ejectionTimeMs: this.#ejectionTimeMs,
        reason,
      },
      'consulkit: balancer ejected an instance after consecutive failures',
    );
    this.#emit('ejected', ejection);
  }

  #begin(key: string): void {
    this.#outstanding.set(key, (this.#outstanding.get(key) ?? 0) + 1);
  }

  #end(key: string): void {
    const count = (this.#outstanding.get(key) ?? 1) - 1;
    if (count <= 0) this.#outstanding.delete(key);
    else this.#outstanding.set(key, count);
  }

  /**
   * Waits for the first read of the service, bounded by `timeoutMs` and `signal`: a Consul
   * that never answers must not hold a call for good.
   */
  async #whenReady(signal: AbortSignal | undefined, timeoutMs: number): Promise<void> {
    if (this.#members !== undefined) return;
    const timeout = timeoutSignal(
      timeoutMs,
      () =>
        new TimeoutError(
          `${this.#description}: Consul has not answered the balancer's first read within ${timeoutMs} ms`,
          timeoutMs,
        ),
    );
    try {
      await abortable(
        this.ready(),
        signal === undefined ? timeout.signal : AbortSignal.any([timeout.signal, signal]),
      );
    } finally {
      timeout.dispose();
    }
  }

  #emit<E extends keyof BalancerEvents>(event: E, ...args: EventEmitter.EventArgs<BalancerEvents, E>): void {
    safeEmit<BalancerEvents, E>(this, this.#logger, 'balancer', event, ...args);
  }
}
