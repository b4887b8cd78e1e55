/**
 * The facade every layer reports through, one call per event: it records OpenTelemetry
 * metrics and spans, publishes on `node:diagnostics_channel`, and keeps the state
 * `consul.healthReport()` reads. With no provider and no channel subscriber, each call is a
 * few boolean checks and allocates nothing.
 *
 * @packageDocumentation
 */
import {
  context,
  SpanStatusCode,
  type Attributes,
  type MeterProvider,
  type ObservableCallback,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api';
import { ConsulError, ConsulHttpError, ValidationError } from '../errors.js';
import { publicPath } from '../transport/transport.js';
import { channels, type RequestMessage } from './channels.js';
import type { Instruments } from './instruments.js';
import { ATTRIBUTES } from './names.js';
import { Providers } from './providers.js';
import { RequestKinds, type RequestKind } from './request-kinds.js';
import { TrackedState, type HeldRecord, type RegistrationOwner } from './tracked-state.js';

/** Client options that choose where metrics and traces go. */
export interface ObservabilityOptions {
  /**
   * Where metrics go. Default: the global one (`metrics.setGlobalMeterProvider`, which an
   * OpenTelemetry SDK sets when it starts), read when the client is created and again every
   * second, so an SDK started after the client is picked up within a second. Without any
   * (or with the API's no-op), nothing is recorded and nothing is allocated per request.
   */
  meterProvider?: MeterProvider;
  /**
   * Where spans go. Default: the global one (`trace.setGlobalTracerProvider`), followed from
   * the first request after it is set. Without any (or with the API's no-op), no span is made.
   */
  tracerProvider?: TracerProvider;
}

/** Where the agent is, for the `server.*` attributes. */
export interface TelemetryTarget {
  readonly address: string;
  readonly port: number | undefined;
}

function checkProvider(provider: unknown, name: string, method: string): void {
  if (provider === undefined) return;
  if (provider === null || typeof (provider as Record<string, unknown>)[method] !== 'function') {
    throw new ValidationError(
      name,
      `must be an OpenTelemetry ${name.replace('Provider', '')} provider (with ${method}())`,
    );
  }
}

/** The endpoint group of a Consul API path: `/v1/kv/x` → `kv`. */
export function endpointGroup(path: string): string {
  if (!path.startsWith('/v1/')) return 'other';
  const end = path.indexOf('/', 4);
  const query = path.indexOf('?', 4);
  const stop = end === -1 ? query : query === -1 ? end : Math.min(end, query);
  return stop === -1 ? path.slice(4) : path.slice(4, stop);
}

/** The kind of a watched query from its description (`kv.get(key="a")` → `kv`). */
export function watchKind(query: string): string {
  const dot = query.indexOf('.');
  return dot === -1 ? query : query.slice(0, dot);
}

/** What a failure is called in `error.type` and `consulkit.outcome`. */
export function errorType(error: unknown): string {
  if (error instanceof ConsulError) return error.code.toLowerCase();
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'))
    return 'aborted';
  return 'error';
}

/** One request in flight; only exists when something records it. */
export interface RequestObservation {
  readonly started: number;
  readonly span: Span | undefined;
  readonly message: RequestMessage | undefined;
  /** Method, group and blocking flag, with the span options and attributes they share. */
  readonly kind: RequestKind;
}

/** The facade. One per client. */
export class Telemetry {
  /** State for `consul.healthReport()`. */
  readonly state = new TrackedState();
  readonly #providers: Providers;
  readonly #kinds: RequestKinds;

  /** @throws ValidationError when a provider given is not one */
  constructor(options: ObservabilityOptions, target: TelemetryTarget) {
    checkProvider(options.meterProvider, 'meterProvider', 'getMeter');
    checkProvider(options.tracerProvider, 'tracerProvider', 'getTracer');
    this.#providers = new Providers(options.meterProvider, options.tracerProvider);
    this.#kinds = new RequestKinds(
      Object.freeze({
        [ATTRIBUTES.serverAddress]: target.address,
        ...(target.port !== undefined && { [ATTRIBUTES.serverPort]: target.port }),
      }),
    );
    this.#observeState();
  }

  /** Whether metrics are recorded now (a meter provider was given or set globally). */
  get metricsEnabled(): boolean {
    return this.#providers.instruments !== undefined;
  }

  /** Whether spans are made now. */
  get tracesEnabled(): boolean {
    return this.#providers.tracer() !== undefined;
  }

  /** Reads the global providers again now instead of at the next periodic check. */
  refreshGlobalProviders(): void {
    this.#providers.refresh();
  }

  get #instruments(): Instruments | undefined {
    return this.#providers.instruments;
  }

  // ---- transport ----------------------------------------------------------------------

  /**
   * A request attempt is about to be sent. Returns `undefined` (and allocates nothing) when
   * no metric, span or channel subscriber would see it. Otherwise the only objects made are
   * the observation and, when a tracer records, the span: names and attributes shared by
   * every request of one kind are built once ({@link RequestKinds}).
   */
  requestStart(method: string, path: string, blocking: boolean): RequestObservation | undefined {
    const publish = channels.requestStart.hasSubscribers || channels.requestEnd.hasSubscribers;
    const tracer = this.#providers.tracer();
    if (this.#providers.instruments === undefined && tracer === undefined && !publish) return undefined;
    const group = endpointGroup(path);
    const kind = this.#kinds.get(method, group, blocking);
    // Only the legacy ACL endpoints carry a token in the path: it never leaves masked.
    const shown = group === 'acl' ? publicPath(path) : path;
    let span: Span | undefined;
    if (tracer !== undefined) {
      span = tracer.startSpan(kind.spanName, kind.spanOptions);
      if (span.isRecording()) span.setAttribute(ATTRIBUTES.urlPath, shown);
    }
    let message: RequestMessage | undefined;
    if (publish) {
      message = { method, path: shown, group, blocking };
      if (channels.requestStart.hasSubscribers) channels.requestStart.publish(message);
    }
    return { started: performance.now(), span, message, kind };
  }

  /** The attempt ended: answered with `status`, or failed with `error`. */
  requestEnd(observation: RequestObservation | undefined, status: number | undefined, error?: unknown): void {
    if (observation === undefined) return;
    const elapsedMs = performance.now() - observation.started;
    if (status === undefined && error instanceof ConsulHttpError) status = error.status;
    const failed = error !== undefined;
    const type = failed ? errorType(error) : undefined;
    const { span, message, kind } = observation;
    if (span?.isRecording() === true) {
      if (status !== undefined) span.setAttribute(ATTRIBUTES.httpStatus, status);
      if (type !== undefined) {
        span.setAttribute(ATTRIBUTES.errorType, type);
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
    span?.end();
    const instruments = this.#instruments;
    if (instruments !== undefined) {
      instruments.requestDuration.record(elapsedMs / 1000, kind.durationAttributes(status, type));
      instruments.requests.add(1, kind.countAttributes(type ?? (status === 404 ? 'not_found' : 'ok')));
    }
    if (message !== undefined && channels.requestEnd.hasSubscribers) {
      if (status !== undefined) message.status = status;
      if (failed) message.error = error;
      message.durationMs = elapsedMs;
      channels.requestEnd.publish(message);
    }
  }

  /** The transport retries an idempotent request after `error`. */
  retry(method: string, path: string, error: unknown): void {
    this.#instruments?.retries.add(1, {
      [ATTRIBUTES.httpMethod]: method,
      [ATTRIBUTES.endpointGroup]: endpointGroup(path),
      [ATTRIBUTES.errorType]: errorType(error),
    });
  }

  /**
   * Reports the connections open now, per pool, on every metric collection.
   *
   * @param read - called at collection time; returns connections by pool name
   */
  observeConnections(read: () => Readonly<Record<string, number>>): void {
    this.#providers.observe('connections', (result) => {
      for (const [pool, count] of Object.entries(read())) result.observe(count, { [ATTRIBUTES.pool]: pool });
    });
  }

  // ---- watch --------------------------------------------------------------------------

  /** Reports the loops running now on every metric collection. */
  observeLoops(count: () => number): void {
    this.#providers.observe('watchLoops', (result) => result.observe(count()));
  }

  /** A watch loop's read of `query` (its description) answered. Ends its failure streak. */
  watchRead(query: string): void {
    this.#instruments?.watchReads.add(1, {
      [ATTRIBUTES.watchKind]: watchKind(query),
      [ATTRIBUTES.outcome]: 'ok',
    });
    if (this.state.failingWatches.size > 0) this.state.failingWatches.delete(query);
  }

  /** A watch loop's read failed; `fatal` when the loop stops for good. */
  watchFailed(query: string, error: Error, fatal: boolean): void {
    const type = errorType(error);
    const kind = watchKind(query);
    const instruments = this.#instruments;
    if (instruments !== undefined) {
      instruments.watchReads.add(1, { [ATTRIBUTES.watchKind]: kind, [ATTRIBUTES.outcome]: type });
      instruments.watchErrors.add(1, { [ATTRIBUTES.watchKind]: kind, [ATTRIBUTES.errorType]: type });
    }
    const failing = this.state.failingWatches.get(query);
    if (failing === undefined) {
      this.state.failingWatches.set(query, {
        query,
        kind,
        since: performance.now(),
        failures: 1,
        lastError: error,
      });
    } else {
      failing.failures++;
      failing.lastError = error;
    }
    if (channels.watchError.hasSubscribers) channels.watchError.publish({ query, kind, error, fatal });
  }

  /** A loop stopped (its last watch left, or the client closed): it no longer counts as failing. */
  watchStopped(query: string): void {
    if (this.state.failingWatches.size > 0) this.state.failingWatches.delete(query);
  }

  /**
   * A loop of `query` handed a changed answer to every watch of it; `deliveringSince` is
   * `performance.now()` when it began to. Recorded as the delivery's duration: Consul tells no
   * write time, so the lag from the write to the answer cannot be measured here.
   */
  watchDelivered(query: string, deliveringSince: number): void {
    this.#instruments?.watchDelivery.record((performance.now() - deliveringSince) / 1000, {
      [ATTRIBUTES.watchKind]: watchKind(query),
    });
  }

  // ---- locks, semaphores, elections ----------------------------------------------------

  /**
   * An `acquire()` ended after `waitedMs`: `outcome` is `acquired`, or the failure's type
   * (`timeout`, `aborted`, `closed`…).
   */
  lockAcquireEnded(kind: string, key: string, waitedMs: number, outcome: string): void {
    this.#instruments?.lockAcquireDuration.record(waitedMs / 1000, {
      [ATTRIBUTES.lockKind]: kind,
      [ATTRIBUTES.key]: key,
      [ATTRIBUTES.outcome]: outcome,
    });
  }

  /**
   * Times `acquiring` (an `acquire()` just called) and records its outcome in
   * `consulkit.lock.acquire.duration`. Returns the same outcome.
   */
  async timeAcquire(kind: string, key: string, acquiring: Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      await acquiring;
    } catch (error) {
      this.lockAcquireEnded(kind, key, performance.now() - started, errorType(error));
      throw error;
    }
    this.lockAcquireEnded(kind, key, performance.now() - started, 'acquired');
  }

  /**
   * Runs a `withLock`: `hold(body)` acquires, runs `body` and releases. The acquisition is
   * timed up to the moment `fn` starts, and `fn` runs in a span with the key and the fencing
   * token. Without a meter or a tracer, `hold(fn)` is all that runs.
   */
  observeHold<T>(
    kind: string,
    key: string,
    fencingToken: () => bigint | undefined,
    fn: (signal: AbortSignal) => Promise<T> | T,
    hold: (body: (signal: AbortSignal) => Promise<T>) => Promise<T>,
  ): Promise<T> {
    if (this.#instruments === undefined && this.#providers.tracer() === undefined)
      return hold(async (signal) => fn(signal));
    const started = performance.now();
    let acquired = false;
    return hold((signal) => {
      acquired = true;
      this.lockAcquireEnded(kind, key, performance.now() - started, 'acquired');
      return this.inSpan(`consulkit.${kind}`, key, fencingToken(), async () => fn(signal));
    }).catch((error: unknown) => {
      if (!acquired) this.lockAcquireEnded(kind, key, performance.now() - started, errorType(error));
      throw error;
    });
  }

  /** `owner` acquired a lock or a semaphore slot. */
  lockAcquired(owner: object, kind: 'lock' | 'semaphore', key: string, fencingToken: bigint): void {
    this.state.held.set(owner, { kind, key, fencingToken, since: performance.now() });
    this.#instruments?.lockHolders.add(1, { [ATTRIBUTES.lockKind]: kind, [ATTRIBUTES.key]: key });
    if (channels.lockAcquired.hasSubscribers) channels.lockAcquired.publish({ kind, key, fencingToken });
  }

  /** `owner` released what it held (`error` undefined) or lost it (`error` set). */
  lockEnded(owner: object, error?: Error): void {
    const record = this.state.held.get(owner);
    if (record === undefined || record.kind === 'election') return;
    this.state.held.delete(owner);
    const heldMs = performance.now() - record.since;
    const { kind, key } = record;
    const instruments = this.#instruments;
    if (instruments !== undefined) {
      const attributes = { [ATTRIBUTES.lockKind]: kind, [ATTRIBUTES.key]: key };
      instruments.lockHolders.add(-1, attributes);
      instruments.lockHoldDuration.record(heldMs / 1000, {
        ...attributes,
        [ATTRIBUTES.holdEnd]: error === undefined ? 'released' : 'lost',
      });
      if (error !== undefined) {
        instruments.lockLosses.add(1, { ...attributes, [ATTRIBUTES.lossReason]: lossReason(error) });
      }
    }
    if (error === undefined) {
      if (channels.lockReleased.hasSubscribers) channels.lockReleased.publish({ kind, key, heldMs });
    } else if (channels.lockLost.hasSubscribers) {
      channels.lockLost.publish({ kind, key, heldMs, error });
    }
  }

  /** `owner` (an election) became the leader with this term's fencing token. */
  elected(owner: object, key: string, fencingToken: bigint): void {
    this.state.held.set(owner, { kind: 'election', key, fencingToken, since: performance.now() });
    this.#instruments?.electionTerms.add(1, { [ATTRIBUTES.key]: key, [ATTRIBUTES.term]: 'won' });
    if (channels.electionElected.hasSubscribers) channels.electionElected.publish({ key, fencingToken });
  }

  /** `owner`'s term ended: lost (with `error`) or resigned. */
  revoked(owner: object, error?: Error): void {
    const record = this.state.held.get(owner);
    if (record?.kind !== 'election') return;
    this.state.held.delete(owner);
    const termMs = performance.now() - record.since;
    const end = error === undefined ? 'resigned' : 'lost';
    const instruments = this.#instruments;
    if (instruments !== undefined) {
      instruments.electionTerms.add(1, { [ATTRIBUTES.key]: record.key, [ATTRIBUTES.term]: end });
      instruments.electionLeadership.record(termMs / 1000, {
        [ATTRIBUTES.key]: record.key,
        [ATTRIBUTES.term]: end,
      });
    }
    if (channels.electionRevoked.hasSubscribers) {
      channels.electionRevoked.publish({
        key: record.key,
        end,
        termMs,
        ...(error !== undefined && { error }),
      });
    }
  }

  /**
   * Runs `body` in a span named `name` with the key and fencing token as attributes (never a
   * value or a token), so work done under a lock or a leadership shows as one span with
   * its Consul requests beneath it. Without a tracer, calls `body` directly.
   */
  inSpan<T>(name: string, key: string, fencingToken: bigint | undefined, body: () => Promise<T>): Promise<T> {
    const tracer = this.#providers.tracer();
    if (tracer === undefined) return body();
    const attributes: Attributes = { [ATTRIBUTES.key]: key };
    if (fencingToken !== undefined) attributes[ATTRIBUTES.fencingToken] = fencingToken.toString();
    return tracer.startActiveSpan(name, { attributes }, context.active(), async (span) => {
      try {
        return await body();
      } catch (error) {
        span.setAttribute(ATTRIBUTES.errorType, errorType(error));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  // ---- registration ---------------------------------------------------------------------

  /** `owner` registered `serviceId` with the agent (`initial`, `agent-forgot`, `agent-restarted`). */
  registered(owner: RegistrationOwner, serviceId: string, reason: string): void {
    const record = this.state.registrations.get(owner);
    const now = performance.now();
    if (record === undefined) {
      this.state.registrations.set(owner, {
        serviceId,
        lastGoodAt: now,
        lastGoodDate: new Date(),
        failuresInARow: 0,
        lastError: undefined,
      });
    } else {
      record.lastGoodAt = now;
      record.lastGoodDate = new Date();
      record.failuresInARow = 0;
      record.lastError = undefined;
    }
    this.#instruments?.registrations.add(1, {
      [ATTRIBUTES.serviceId]: serviceId,
      [ATTRIBUTES.registrationReason]: reason,
    });
    if (channels.registrationRegistered.hasSubscribers) {
      channels.registrationRegistered.publish({ serviceId, reason });
    }
  }

  /** The agent accepted a heartbeat of `owner`. */
  heartbeat(owner: RegistrationOwner): void {
    const record = this.state.registrations.get(owner);
    if (record === undefined) return;
    record.lastGoodAt = performance.now();
    record.lastGoodDate = new Date();
    record.failuresInARow = 0;
    record.lastError = undefined;
  }

  /** A heartbeat or re-registration of `owner` failed (it is retried). */
  registrationFailed(owner: RegistrationOwner, error: unknown): void {
    const record = this.state.registrations.get(owner);
    if (record === undefined) return;
    record.failuresInARow++;
    record.lastError = error;
    this.#instruments?.heartbeatFailures.add(1, {
      [ATTRIBUTES.serviceId]: record.serviceId,
      [ATTRIBUTES.errorType]: errorType(error),
    });
    if (channels.registrationFailed.hasSubscribers) {
      channels.registrationFailed.publish({ serviceId: record.serviceId, error });
    }
  }

  /** `owner` deregistered; it leaves the report and the heartbeat-age gauge. */
  deregistered(owner: RegistrationOwner): void {
    this.state.registrations.delete(owner);
  }

  // ---- balancer -----------------------------------------------------------------------

  /** One balancer attempt on `instance` ended with `outcome` (`ok`, or an error type / HTTP status class). */
  balancerCall(service: string, instance: string, outcome: string): void {
    this.#instruments?.balancerCalls.add(1, {
      [ATTRIBUTES.service]: service,
      [ATTRIBUTES.instance]: instance,
      [ATTRIBUTES.outcome]: outcome,
    });
  }

  /** Outlier detection ejected `instance` of `service`. */
  balancerEjected(service: string, instance: string): void {
    this.#instruments?.balancerEjections.add(1, {
      [ATTRIBUTES.service]: service,
      [ATTRIBUTES.instance]: instance,
    });
  }

  /**
   * Reports a balancer's pickable instances on every collection, while it lives. Held
   * weakly: a balancer nobody references stops being reported once collected.
   */
  observeBalancer(service: string, balancer: PickableSource): void {
    const ref = new WeakRef(balancer);
    const callback: ObservableCallback = (result) => {
      const target = ref.deref();
      if (target === undefined) {
        this.#providers.unobserve(callback);
        return;
      }
      result.observe(target.instances().length - target.ejected().length, { [ATTRIBUTES.service]: service });
    };
    this.#providers.observe('balancerInstances', callback);
  }

  /**
   * Stops every observable callback of this client and the periodic read of the global
   * providers, so that a meter provider that outlives the client neither keeps it in memory
   * nor reports it any more. Idempotent.
   */
  close(): void {
    this.#providers.close();
  }

  #observeState(): void {
    this.#providers.observe('watchFailing', (result) => result.observe(this.state.failingWatches.size));
    this.#providers.observe('heartbeatAge', (result) => {
      const now = performance.now();
      for (const record of this.state.liveRegistrations()) {
        result.observe((now - record.lastGoodAt) / 1000, { [ATTRIBUTES.serviceId]: record.serviceId });
      }
    });
  }
}

/**
 * Why a lock was lost, for the losses counter. A loss caused by a failure (a renewal or a
 * watch read that could not reach Consul) is named for that failure (`unavailable`,
 * `timeout`, `permission_denied`…); a loss Consul itself decided (session invalidated, key
 * deleted or taken) has no cause and counts as `lock_lost`.
 */
export function lossReason(error: Error): string {
  return error.cause === undefined ? errorType(error) : errorType(error.cause);
}

/** What the pickable-instances gauge reads from a balancer. */
export interface PickableSource {
  instances(): readonly unknown[];
  ejected(): readonly unknown[];
}

export type { HeldRecord };
