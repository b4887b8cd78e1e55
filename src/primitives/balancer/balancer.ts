/**
 * `consul.balancer(service)`: the healthy instances of a service, kept current through the
 * shared watcher, and the ways to use them (`pick()`, `request()`, events). Options live in
 * `balancer-options.ts`, strategies in `balancer-strategies.ts`, sending in
 * `balancer-http.ts`, the retry policy in `balancer-retry.ts`.
 *
 * @packageDocumentation
 */
import { setMaxListeners } from 'node:events';
import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import type { ServiceEntry } from '../../api/health/health.js';
import type { ClientResource } from '../../client.js';
import { ClosedError, TimeoutError } from '../../errors.js';
import { safeEmit } from '../../safe-emit.js';
import { abortable, timeoutSignal } from '../../timing/index.js';
import type { Watches } from '../../watch/watches.js';
import { BalancerResponse, InstanceHttpClient } from './balancer-http.js';
import {
  resolveBalancerOptions,
  resolveRequest,
  UNDICI_TIMEOUT_MS,
  type BalancerOptions,
  type BalancerRequestInit,
} from './balancer-options.js';
import { membersInRotation, OutlierDetector } from './balancer-outliers.js';
import { sendWithRetries, type BalancerAttemptOutcome, type RetryTarget } from './balancer-retry.js';
import {
  diffMembers,
  memberKey,
  toMembers,
  type BalancerInstance,
  type BalancerMember,
} from './balancer-members.js';
import type { BalancerStrategy, BalancerStrategyName } from './balancer-strategies.js';
import { WatchedLifecycle } from '../shared/watched-lifecycle.js';

export type { BalancerOptions, BalancerRequestInit } from './balancer-options.js';

/** @internal What a balancer needs from the client (the `Consul` class provides it). */
export interface BalancerHost {
  readonly watch: Watches;
  readonly logger: Logger;
  track(resource: ClientResource): () => void;
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
  /**
   * One attempt of a `request()` on an instance ended: with an answer (`ok`, `5xx`) or a
   * failure kind. A retried call emits one per attempt. The client's metrics count these.
   */
  attempt: (attempt: BalancerAttempt) => void;
}

/** Payload of a balancer's `attempt` event. */
export interface BalancerAttempt {
  /** The instance the attempt went to. */
  readonly instance: BalancerInstance;
  /** How it ended. */
  readonly outcome: BalancerAttemptOutcome;
  /** 1 for the first attempt of a call, 2 for its first retry, and so on. */
  readonly attempt: number;
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
  readonly #retryTarget: RetryTarget;
  /** Aborted on close: ends every request still running. */
  readonly #closer = new AbortController();
  readonly #outstanding = new Map<string, number>();
  #members: readonly BalancerMember[] | undefined;

  /**
   * @internal Use `consul.balancer(service, options)`.
   * @throws ValidationError for a bad service name or options
   */
  constructor(host: BalancerHost, service: string, options: BalancerOptions = {}) {
    const resolved = resolveBalancerOptions(service, options);
    // Opened last among the checks: it validates the name and the watch options, and once it
    // exists the balancer must be closed to release it.
    const watch = host.watch.service(service, resolved.watch);
    super();
    this.service = service;
    this.strategy = resolved.strategy.name;
    this.#strategy = resolved.strategy;
    this.#maxAttempts = resolved.maxAttempts;
    this.#requestTimeoutMs = resolved.requestTimeoutMs;
    this.#includeWarning = !resolved.passingOnly;
    this.#description = resolved.description;
    this.#logger = host.logger.child({ primitive: 'balancer', service });
    this.#http = new InstanceHttpClient({
      scheme: resolved.scheme,
      connectTimeoutMs: resolved.connectTimeoutMs,
      tls: resolved.tls,
    });
    const outliers = resolved.outliers;
    this.#outliers = outliers === undefined ? undefined : new OutlierDetector(outliers);
    this.#ejectionTimeMs = outliers?.ejectionTimeMs ?? 0;
    // Every running request listens on this signal (undici adds one listener per request):
    // many concurrent requests are normal here, not a leak.
    setMaxListeners(0, this.#closer.signal);
    this.#retryTarget = {
      service,
      description: this.#description,
      logger: this.#logger,
      http: this.#http,
      closed: this.#closer.signal,
      pick: (tried) => this.#pickMember(tried),
      hasUntried: (tried) => this.#hasUntried(tried),
      begin: (key) => this.#begin(key),
      end: (key) => this.#end(key),
      recordFailure: (member, reason) => this.#recordFailure(member, reason),
      recordSuccess: (member) => this.#outliers?.recordSuccess(member.key),
      reportAttempt: (member, outcome, attempt) =>
        this.#emit('attempt', { instance: member.instance, outcome, attempt }),
    };
    this.#lifecycle = new WatchedLifecycle({
      what: 'balancer',
      watch,
      logger: this.#logger,
      resource: this,
      track: (resource) => host.track(resource),
      signal: resolved.signal,
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
   * @throws BalancerNoInstanceError when no instance is in rotation
   * @throws BalancerRequestError when every attempt failed to get a response, or one failed
   *   that may not be retried (its `cause` is the last failure)
   * @throws TimeoutError when an attempt got no response headers in time, or when Consul
   *   had not answered the balancer's first read within the timeout
   * @throws ClosedError when the balancer was closed before or during the call
   * @throws the signal's reason when `init.signal` aborted the call
   * @throws ValidationError for a bad path or init, before anything is sent
   */
  async request(path: string, init: BalancerRequestInit = {}): Promise<BalancerResponse> {
    const request = resolveRequest(path, init, {
      maxAttempts: this.#maxAttempts,
      timeoutMs: this.#requestTimeoutMs,
    });
    const ending = this.#lifecycle.ending;
    if (ending !== undefined) throw ending.reason;
    const callerSignal = request.signal;
    callerSignal?.throwIfAborted();
    await this.#whenReady(callerSignal, request.timeoutMs ?? UNDICI_TIMEOUT_MS);
    const combined = callerSignal
      ? AbortSignal.any([this.#closer.signal, callerSignal])
      : this.#closer.signal;
    return sendWithRetries(this.#retryTarget, { ...request, path, combined });
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
