/**
 * The one place where consulkit speaks HTTP. Everything above this module sees
 * {@link RequestSpec} in and {@link ConsulResponse} or a typed error out.
 *
 * @packageDocumentation
 */
import { Pool } from 'undici';
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import type { Telemetry } from '../observability/telemetry.js';
import { H2_STREAMS_PER_CONNECTION, type ResolvedConfig } from '../config.js';
import { ClosedError, InvalidResponseError, isRetryable, TimeoutError, ValidationError } from '../errors.js';
import { formatDuration, toMilliseconds } from '../duration.js';
import { errorForFailure, errorForStatus, type FailureContext } from './error-mapping.js';
import { Answer } from './answer.js';
import { bodyText, exchange, ExchangeFailure, type Exchanged } from './exchange.js';
import { RenewablePool } from './renewable-pool.js';
import type { BlockingGate } from './blocking-gate.js';
import { tlsConnectOptions } from './tls-connect.js';
import { validateToken } from './token.js';
import { parseConsulJson, stringifyConsulJson } from './uint64-json.js';
import { checkOptionKeys } from '../options-check.js';
import { CALL_OPTION_KEYS, NO_OPTIONS, READ_OPTION_KEYS } from './types.js';
import type { ConsulResponse, QueryValue, ReadOptions, RequestSpec } from './types.js';

/** Consul's default blocking wait when `index` is given without `wait`. */
export const DEFAULT_BLOCKING_WAIT_MS = 5 * 60_000;
/** Consul caps `wait` at ten minutes. */
export const MAX_BLOCKING_WAIT_MS = 10 * 60_000;

/**
 * Time bound of a blocking query: Consul may hold it for `wait` plus up to `wait/16` of jitter,
 * so the client waits that long plus a margin before calling the connection dead.
 */
export function blockingTimeoutMs(waitMs: number, marginMs: number): number {
  return Math.ceil(waitMs + waitMs / 16 + marginMs);
}

/** One connection pool in {@link TransportStats}. */
export interface PoolStats {
  /** `h1` (HTTP/1.1) or `h2` (HTTP/2, HTTPS only). */
  protocol: 'h1' | 'h2';
  /** Connections open now. */
  connections: number;
  /** Most connections the pool may open. */
  budget: number;
  /** Requests running now. */
  running: number;
  /** Requests waiting for a connection (or a stream). */
  queued: number;
  /** Over h2: requests running per open connection (streams), on average; else 1 or 0. */
  streamsPerConnection: number;
  /**
   * Requests running on the busiest open connection (over h2, its streams: an average hides
   * one connection near Consul's limit of 250 while others idle); 0 with none running.
   */
  maxStreamsPerConnection: number;
  /** Requests running on each open connection (streams over h2), busiest first. */
  streamsByConnection: number[];
}

/** Counters the transport keeps, for diagnostics, tests and benchmarks. */
export interface TransportStats {
  /** Requests sent (each retry counts). */
  requests: number;
  /** Blocking queries sent. */
  blockingRequests: number;
  /** Connections currently open to the agent, both pools together. */
  connections: number;
  /** Requests running now, both pools together. */
  running: number;
  /** Most connections the client holds to the agent (`connectionBudget`). */
  connectionBudget: number;
  /** The pool of ordinary requests and the pool of blocking queries. */
  pools: { short: PoolStats; blocking: PoolStats };
}

function appendQuery(parts: string[], name: string, value: QueryValue): void {
  if (value === undefined || value === false) return;
  if (value === true) {
    parts.push(encodeURIComponent(name));
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value as readonly string[])
      parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(item)}`);
    return;
  }
  parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
}

// Consul's legacy ACL endpoints put the token itself (its ID is its secret) in the path.
const SECRET_IN_PATH = /^(\/v1\/acl\/(?:info|destroy|clone))\/[^/?]+/;

/** The request path as it may appear in logs and error messages, with path-borne secrets masked. */
export function publicPath(path: string): string {
  return path.replace(SECRET_IN_PATH, '$1/<redacted>');
}

/**
 * Throws the {@link UnknownOptionError} for the first key of `options` that `known` lacks,
 * named by the request it would have been (`PUT /v1/kv/app/x`). Out of line: only a refused
 * call gets here, so the message is built for it alone.
 */
function refuseOptions(spec: RequestSpec, options: object, known: readonly string[]): void {
  checkOptionKeys(options, known, `${spec.method} ${publicPath(spec.path)}`);
}

function parseJsonBody(text: string, status: number, spec: RequestSpec): unknown {
  try {
    return parseConsulJson(text);
  } catch (error) {
    throw new InvalidResponseError(
      {
        status,
        method: spec.method,
        path: publicPath(spec.path),
        body: `response is not valid JSON: ${text.slice(0, 200)}`,
      },
      { cause: error },
    );
  }
}

function ownBytes(view: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(view.length);
  view.copy(copy);
  return copy;
}

function indexValue(index: ReadOptions['index']): bigint | undefined {
  if (index === undefined) return undefined;
  if (typeof index === 'number' && !Number.isSafeInteger(index)) {
    throw new ValidationError(
      'index',
      `${index} is not exact as a JS number; pass the bigint from meta.index`,
    );
  }
  try {
    const value = BigInt(index);
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new RangeError('out of range');
    return value;
  } catch {
    throw new ValidationError('index', `expected a uint64 index, got ${String(index)}`);
  }
}

/** The HTTP transport: two undici pools, query building, timeouts, retries and error mapping. */
export class Transport {
  /** Resolved client configuration. */
  readonly config: ResolvedConfig;
  /** Logger for request diagnostics; the token never reaches it. */
  readonly logger: Logger;
  // Blocking queries hold a connection for minutes. Keeping them in their own pool means a
  // put or a plain get never queues behind watches.
  private readonly shortPool: RenewablePool;
  private readonly blockingPool: RenewablePool;
  private closed = false;
  readonly #telemetry: Telemetry | undefined;
  /** The headers of a call without body or own token, built once (undici only reads them). */
  readonly #clientHeaders: Readonly<Record<string, string>>;
  #blockingGate: BlockingGate | undefined;
  #closing: Promise<void> | undefined;
  // A timed-out attempt already spent the caller's time bound; retrying would break the
  // promise that `timeout` makes. The watcher retries those itself. (One function per
  // transport, not per request: the hot path should not allocate it.)
  readonly #shouldRetry = (error: unknown): boolean =>
    !this.closed && isRetryable(error) && !(error instanceof TimeoutError);
  private requestCount = 0;
  private blockingCount = 0;
  /** Facts about this client's connections that explain a failure (see errorForFailure). */
  readonly #failureContext: FailureContext;

  /** @param telemetry - where each request attempt and retry is reported (metrics, spans, channels) */
  constructor(config: ResolvedConfig, logger: Logger, telemetry?: Telemetry) {
    this.config = config;
    this.logger = logger;
    this.#telemetry = telemetry;
    this.#clientHeaders = Object.freeze(config.token === undefined ? {} : { 'x-consul-token': config.token });
    const connect = config.tls ? tlsConnectOptions(config.tls) : undefined;
    this.#failureContext = {
      httpsWithoutClientCertificate: config.tls !== undefined && connect?.cert === undefined,
    };
    const common = {
      ...(config.socketPath !== undefined && { socketPath: config.socketPath }),
      ...(connect !== undefined && { connect }),
      // undici's own 300 s defaults would cut Consul's default 5-minute wait; every request
      // sets its own bounds below instead.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
    };
    // Short requests stay on HTTP/1.1 even over HTTPS: measured 1.4× faster than h2 against
    // Consul 1.8.7 (bench h2-vs-h1), and undici holds a non-idempotent request on an h2
    // connection until it is idle.
    this.shortPool = new RenewablePool(
      'short',
      (factory) => new Pool(config.origin, { ...common, connections: config.connections, factory }),
      logger,
    );
    // The blocking pool is capped: undici never opens more than `connections` sockets, even
    // while reconnecting, which is what makes the budget hold; the watch engine takes turns
    // on it. Over HTTPS its connections speak h2: `pipelining` is what bounds concurrent
    // streams per connection in undici, kept under the 250 of Consul's Go server so that a
    // long poll never queues inside nghttp2.
    this.blockingPool = new RenewablePool(
      'blocking',
      (factory) =>
        new Pool(config.origin, {
          ...common,
          factory,
          connections: config.blockingConnections,
          ...(config.blockingH2 && { allowH2: true, pipelining: H2_STREAMS_PER_CONNECTION }),
        }),
      logger,
      true,
    );
  }

  /** Whether {@link Transport.close} was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * The datacenter a call addresses: its own `datacenter` option, else the client's, else
   * `undefined` (the agent's own). For the endpoints Consul routes by a body field instead
   * of `?dc=` (catalog register/deregister in 1.8), the api layer writes it into the body.
   *
   * @throws ValidationError for a datacenter that is not a non-empty string
   */
  datacenterFor(options: { datacenter?: string } | undefined): string | undefined {
    const datacenter = options?.datacenter;
    if (datacenter === undefined) return this.config.datacenter;
    if (typeof datacenter !== 'string' || datacenter.trim() === '') {
      throw new ValidationError('datacenter', 'must be a non-empty string');
    }
    return datacenter;
  }

  /**
   * Makes blocking reads take turns through `gate` (see {@link BlockingGate}): the client
   * wires its watch engine's scheduler here, so that a user's own blocking read cannot hold
   * a blocking connection the watches' worst-case delay counts on. Reads already in a turn
   * of the gate (the watches' own) go straight through.
   */
  useBlockingGate(gate: BlockingGate): void {
    this.#blockingGate = gate;
  }

  /** Current counters. */
  stats(): TransportStats {
    const a = this.shortPool.stats();
    const b = this.blockingPool.stats();
    const h2 = this.config.blockingH2;
    return {
      requests: this.requestCount,
      blockingRequests: this.blockingCount,
      connections: a.connected + b.connected,
      running: a.running + b.running,
      connectionBudget: this.config.connectionBudget,
      pools: {
        short: {
          protocol: 'h1',
          connections: a.connected,
          budget: this.config.connections,
          running: a.running,
          queued: a.queued,
          streamsPerConnection: a.connected === 0 ? 0 : Math.min(1, a.running / a.connected),
          maxStreamsPerConnection: a.runningPerConnection[0] ?? 0,
          streamsByConnection: a.runningPerConnection,
        },
        blocking: {
          protocol: h2 ? 'h2' : 'h1',
          connections: b.connected,
          budget: this.config.blockingConnections,
          running: b.running,
          queued: b.queued,
          streamsPerConnection:
            b.connected === 0 ? 0 : h2 ? b.running / b.connected : Math.min(1, b.running / b.connected),
          maxStreamsPerConnection: b.runningPerConnection[0] ?? 0,
          streamsByConnection: b.runningPerConnection,
        },
      },
    };
  }

  /**
   * Sends a request, retrying idempotent ones on transient failures with jittered
   * exponential backoff, and maps every failure to a consulkit error.
   */
  async request<T>(spec: RequestSpec): Promise<ConsulResponse<T>> {
    if (this.closed) throw new ClosedError();
    const options = spec.read ?? spec.call ?? NO_OPTIONS;
    // A misspelt key (`cass` for `cas`) would otherwise be dropped in silence and the call
    // sent without the option the caller believes they set. A call without options loops
    // over no key at all; the list is searched only for keys the caller actually gave.
    const known = spec.optionKeys ?? (spec.read === undefined ? CALL_OPTION_KEYS : READ_OPTION_KEYS);
    for (const key in options) if (!known.includes(key)) refuseOptions(spec, options, known);
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new ValidationError('signal', 'must be an AbortSignal');
    }
    signal?.throwIfAborted();
    const prepared = this.prepare(spec);
    const gate = this.#blockingGate;
    if (prepared.blocking && gate !== undefined && !gate.holdsTurn(signal))
      return this.#inTurn<T>(spec, gate);
    const idempotent = spec.idempotent ?? spec.method === 'GET';
    const retries = options.retries ?? this.config.retries;
    if (!Number.isInteger(retries) || retries < 0) {
      throw new ValidationError('retries', `expected a non-negative integer, got ${String(retries)}`);
    }
    if (!idempotent || retries === 0) return this.send<T>(spec, prepared);
    const shouldRetry = this.#shouldRetry;
    // The first attempt runs outside p-retry: most calls succeed, and the retry machinery
    // costs tens of microseconds per call that the hot path should not pay.
    let firstFailure: unknown;
    try {
      return await this.send<T>(spec, prepared);
    } catch (error) {
      if (!shouldRetry(error)) throw error;
      firstFailure = error;
    }
    let replayed = false;
    return pRetry(
      () => {
        // p-retry's first attempt replays the failure already seen, so its backoff and retry
        // count apply exactly as if it had made that attempt itself.
        if (!replayed) {
          replayed = true;
          throw firstFailure as Error;
        }
        return this.send<T>(spec, prepared);
      },
      {
        retries,
        minTimeout: this.config.retryMinDelayMs,
        maxTimeout: this.config.retryMaxDelayMs,
        randomize: true,
        ...(signal !== undefined && { signal }),
        shouldRetry: ({ error }) => shouldRetry(error),
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft > 0 && shouldRetry(error)) {
            this.#telemetry?.retry(spec.method, spec.path, error);
            this.logger.debug(
              { err: error, attemptNumber, path: publicPath(spec.path) },
              'consul request failed; retrying',
            );
          }
        },
      },
    );
  }

  /**
   * A blocking read made outside the watches, sent in a turn of the gate with the turn's wait
   * (Consul may answer a blocking query before its wait with the same index, so a shorter
   * wait changes nothing a caller may rely on), and sent again on a later turn when the gate
   * takes the turn back for a waiting read. The caller's abort ends it wherever it is.
   */
  async #inTurn<T>(spec: RequestSpec, gate: BlockingGate): Promise<ConsulResponse<T>> {
    const read = spec.read ?? {};
    const own = read.signal;
    const askedMs = read.wait === undefined ? DEFAULT_BLOCKING_WAIT_MS : toMilliseconds(read.wait, 'wait');
    for (;;) {
      const turn = await gate.acquire(askedMs, own);
      try {
        return await this.request<T>({
          ...spec,
          read: { ...read, wait: Math.min(askedMs, turn.waitMs), signal: turn.signalFor(own) },
        });
      } catch (error) {
        if (turn.signal.aborted && own?.aborted !== true) continue;
        throw error;
      } finally {
        turn.release();
      }
    }
  }

  /** Validates and turns a spec into what undici needs; throws ValidationError before sending. */
  private prepare(spec: RequestSpec): {
    path: string;
    headers: Readonly<Record<string, string>>;
    body: string | Uint8Array | undefined;
    timeoutMs: number;
    blocking: boolean;
  } {
    const read = spec.read;
    const options = read ?? spec.call ?? NO_OPTIONS;
    const parts: string[] = [];
    const query = spec.query;
    if (query !== undefined) for (const name in query) appendQuery(parts, name, query[name]);
    const datacenter = this.datacenterFor(options);
    if (datacenter !== undefined) appendQuery(parts, 'dc', datacenter);

    const callTimeoutMs =
      options.timeout === undefined ? this.config.timeoutMs : toMilliseconds(options.timeout, 'timeout');
    if (callTimeoutMs <= 0) throw new ValidationError('timeout', 'must be greater than zero');
    let timeoutMs = callTimeoutMs;
    let blocking = false;
    if (read) {
      const consistency = read.consistency ?? this.config.consistency;
      if (consistency === 'stale' || consistency === 'consistent') appendQuery(parts, consistency, true);
      else if (consistency !== 'default') {
        throw new ValidationError(
          'consistency',
          `'${String(consistency)}' is not default, stale or consistent`,
        );
      }
      if (read.filter !== undefined) appendQuery(parts, 'filter', read.filter);
      if (read.cached) appendQuery(parts, 'cached', true);
      const index = indexValue(read.index);
      const waitMs = read.wait === undefined ? undefined : toMilliseconds(read.wait, 'wait');
      if (waitMs !== undefined && waitMs > MAX_BLOCKING_WAIT_MS) {
        throw new ValidationError('wait', `${formatDuration(waitMs)} exceeds Consul's 10m maximum`);
      }
      if (read.hash !== undefined && (typeof read.hash !== 'string' || !/^[0-9a-f]+$/i.test(read.hash))) {
        throw new ValidationError('hash', `expected a content hash (hex), got ${String(read.hash)}`);
      }
      if (read.hash !== undefined && index !== undefined) {
        throw new ValidationError('hash', 'cannot be combined with index');
      }
      if ((index !== undefined && index > 0n) || read.hash !== undefined) {
        blocking = true;
        if (read.hash !== undefined) appendQuery(parts, 'hash', read.hash);
        else appendQuery(parts, 'index', index);
        if (waitMs !== undefined) appendQuery(parts, 'wait', formatDuration(waitMs));
        timeoutMs = blockingTimeoutMs(waitMs ?? DEFAULT_BLOCKING_WAIT_MS, callTimeoutMs);
      }
    }

    const path = parts.length ? `${spec.path}?${parts.join('&')}` : spec.path;
    // Most calls carry no body and the client's own token: they share one frozen header set.
    if (spec.body === undefined && options.token === undefined)
      return { path, headers: this.#clientHeaders, body: undefined, timeoutMs, blocking };
    const headers: Record<string, string> = {};
    const token = options.token === undefined ? this.config.token : validateToken(options.token);
    if (token !== undefined) headers['x-consul-token'] = token;
    let body: string | Uint8Array | undefined;
    if (spec.body && 'json' in spec.body) {
      body = stringifyConsulJson(spec.body.json);
      headers['content-type'] = 'application/json';
    } else if (spec.body) {
      body = spec.body.raw;
      headers['content-type'] = 'application/octet-stream';
    }
    return { path, headers, body, timeoutMs, blocking };
  }

  /**
   * One attempt, reported to the telemetry when anything records it. Not `async`: without a
   * recorder the attempt's own promise is returned as is, with nothing allocated around it.
   */
  private send<T>(spec: RequestSpec, prepared: ReturnType<Transport['prepare']>): Promise<ConsulResponse<T>> {
    const observed = this.#telemetry?.requestStart(spec.method, spec.path, prepared.blocking);
    if (observed === undefined) return this.attempt<T>(spec, prepared);
    const telemetry = this.#telemetry as Telemetry;
    return this.attempt<T>(spec, prepared).then(
      (response) => {
        telemetry.requestEnd(observed, response.status);
        return response;
      },
      (error: unknown) => {
        telemetry.requestEnd(observed, undefined, error);
        throw error;
      },
    );
  }

  private async attempt<T>(
    spec: RequestSpec,
    prepared: ReturnType<Transport['prepare']>,
  ): Promise<ConsulResponse<T>> {
    if (this.closed) throw new ClosedError();
    const signal = (spec.read ?? spec.call)?.signal;
    const pool = (prepared.blocking ? this.blockingPool : this.shortPool).current;
    this.requestCount++;
    if (prepared.blocking) this.blockingCount++;
    const started = performance.now();
    let answer: Exchanged;
    try {
      answer = await exchange(
        pool,
        {
          method: spec.method,
          path: prepared.path,
          headers: prepared.headers,
          body: prepared.body ?? null,
          headersTimeout: prepared.timeoutMs,
          bodyTimeout: prepared.timeoutMs,
        },
        signal,
      );
    } catch (failed) {
      // exchange() rejects with an ExchangeFailure; anything else failed before sending.
      const { error, answered } =
        failed instanceof ExchangeFailure ? failed : { error: failed, answered: false };
      throw this.failure(
        spec,
        error,
        signal,
        prepared,
        pool,
        answered ? undefined : performance.now() - started,
      );
    }
    const { status, rawHeaders } = answer;
    try {
      if (this.logger.isLevelEnabled('debug')) {
        this.logger.debug(
          {
            method: spec.method,
            path: publicPath(spec.path),
            status,
            ms: Math.round(performance.now() - started),
          },
          'consul request',
        );
      }
      if (status >= 200 && status < 300) {
        let body: unknown;
        switch (spec.response) {
          case 'json':
            body = parseJsonBody(bodyText(answer.body), status, spec);
            break;
          case 'text':
            body = bodyText(answer.body);
            break;
          case 'buffer':
            // The collected body may be a view into the socket's read buffer; callers get
            // bytes of their own, as before.
            body = ownBytes(answer.body);
            break;
          case 'none':
            break;
        }
        return new Answer(status, body as T, rawHeaders);
      }
      if (status === 404 && spec.allowNotFound) return new Answer(status, undefined as T, rawHeaders);
      throw errorForStatus({
        status,
        method: spec.method,
        path: publicPath(spec.path),
        body: bodyText(answer.body),
      });
    } catch (error) {
      throw this.failure(spec, error, signal, prepared, pool);
    }
  }

  private failure(
    spec: RequestSpec,
    error: unknown,
    signal: AbortSignal | undefined,
    prepared: { timeoutMs: number },
    pool: Pool,
    beforeAnswerMs?: number,
  ) {
    if (signal?.aborted) return signal.reason as unknown;
    // Built only on failure: masking the path costs a regex per request otherwise.
    const label = `${spec.method} ${publicPath(spec.path)}`;
    if (this.closed) return new ClosedError(`${label}: the Consul client was closed`);
    const mapped = errorForFailure(error, label, prepared.timeoutMs, beforeAnswerMs, this.#failureContext);
    if (mapped instanceof TimeoutError) {
      // One silent connection means the path to the agent may have dropped every connection
      // of both pools: the retry must not wait a whole timeout again on another dead one.
      // A timeout on a pool already replaced says nothing about the new connections.
      if (pool === this.shortPool.current || pool === this.blockingPool.current) {
        this.shortPool.renew(this.shortPool.current);
        this.blockingPool.renew(this.blockingPool.current);
      }
    }
    return mapped;
  }

  /**
   * Closes both pools. In-flight blocking queries are cut at once (they could otherwise hold
   * the process for minutes); ordinary requests already sent are allowed to finish.
   */
  close(): Promise<void> {
    // A second call during shutdown must wait for the same shutdown, not return early.
    this.#closing ??= (async () => {
      this.closed = true;
      await Promise.all([this.blockingPool.destroy(), this.shortPool.close()]);
    })();
    return this.#closing;
  }
}
