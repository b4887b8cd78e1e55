/**
 * The balancer's options and the options of one `request()`: their types, defaults and
 * validation, so that bad input is refused before anything is opened or sent.
 *
 * @packageDocumentation
 */
import type { HeadersInit } from 'undici';
import { Headers } from 'undici';
import { toMilliseconds, type Duration } from '../../duration.js';
import { ValidationError } from '../../errors.js';
import type { WatchOptions } from '../../watch/types.js';
import { checkOptionKeys, optionKeys } from '../../options-check.js';
import { WATCH_BACKOFF_OPTION_KEYS, type ServiceWatchOptions } from '../../watch/watches.js';
import { checkSignal } from '../shared/watched-lifecycle.js';
import { describeError, type BalancerTlsOptions } from './balancer-http.js';
import {
  resolveOutlierSettings,
  type OutlierDetectionOptions,
  type OutlierSettings,
} from './balancer-outliers.js';
import { createStrategy, type BalancerStrategy, type BalancerStrategyName } from './balancer-strategies.js';

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

/** Every key of {@link BalancerOptions}. */
export const BALANCER_OPTION_KEYS = optionKeys<BalancerOptions>()([
  'tag',
  'datacenter',
  'strategy',
  'passingOnly',
  'maxAttempts',
  'requestTimeout',
  'connectTimeout',
  'scheme',
  'tls',
  'token',
  'consistency',
  'cached',
  'watch',
  'outlierDetection',
  'signal',
]);

/** Every key of {@link BalancerOptions.watch}. */
export const BALANCER_WATCH_OPTION_KEYS = optionKeys<NonNullable<BalancerOptions['watch']>>()([
  'wait',
  'timeout',
  'minInterval',
  'backoff',
]);

/** Every key of {@link BalancerTlsOptions}. */
export const BALANCER_TLS_OPTION_KEYS = optionKeys<BalancerTlsOptions>()([
  'ca',
  'cert',
  'key',
  'serverName',
  'rejectUnauthorized',
]);

/** Every key of {@link OutlierDetectionOptions}. */
export const OUTLIER_DETECTION_OPTION_KEYS = optionKeys<OutlierDetectionOptions>()([
  'consecutiveFailures',
  'ejectionTime',
  'maxEjectedPercent',
]);

/** Refuses unknown keys in the balancer's options and in its nested option objects. */
function checkBalancerOptionKeys(options: BalancerOptions): void {
  const where = 'balancer()';
  checkOptionKeys(options, BALANCER_OPTION_KEYS, where);
  if (options === null || typeof options !== 'object') return;
  checkOptionKeys(options.tls, BALANCER_TLS_OPTION_KEYS, where, 'tls');
  checkOptionKeys(options.outlierDetection, OUTLIER_DETECTION_OPTION_KEYS, where, 'outlierDetection');
  checkOptionKeys(options.watch, BALANCER_WATCH_OPTION_KEYS, where, 'watch');
  if (options.watch !== null && typeof options.watch === 'object')
    checkOptionKeys(options.watch.backoff, WATCH_BACKOFF_OPTION_KEYS, where, 'watch.backoff');
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

/** Every key of {@link BalancerRequestInit}. */
export const BALANCER_REQUEST_INIT_KEYS = optionKeys<BalancerRequestInit>()([
  'method',
  'headers',
  'body',
  'signal',
  'timeout',
  'maxAttempts',
]);

const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** undici's own headers and body timeouts, which apply when no `requestTimeout` is given. */
export const UNDICI_TIMEOUT_MS = 300_000;

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

/** One `request()` call, validated, with the balancer's defaults applied. */
export interface ResolvedRequest {
  readonly method: string;
  readonly headers: Headers;
  readonly body: string | Uint8Array | undefined;
  readonly maxAttempts: number;
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
}

/** Validates one `request()` call, before anything is sent. */
export function resolveRequest(
  path: unknown,
  init: BalancerRequestInit,
  defaults: { maxAttempts: number; timeoutMs: number | undefined },
): ResolvedRequest {
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw new ValidationError('path', `must be a string starting with '/', not ${String(path)}`);
  if (init === null || typeof init !== 'object') throw new ValidationError('init', 'must be an object');
  checkOptionKeys(init, BALANCER_REQUEST_INIT_KEYS, 'request()');
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

/** {@link BalancerOptions} validated, with their defaults. */
export interface ResolvedBalancerOptions {
  readonly strategy: BalancerStrategy;
  readonly passingOnly: boolean;
  readonly maxAttempts: number;
  readonly requestTimeoutMs: number | undefined;
  readonly connectTimeoutMs: number;
  readonly scheme: 'http' | 'https';
  readonly tls: BalancerTlsOptions | undefined;
  readonly outliers: OutlierSettings | undefined;
  /** Options of the service watch that feeds the balancer. */
  readonly watch: ServiceWatchOptions;
  readonly signal: AbortSignal | undefined;
  /** The service, its filters and its datacenter in words, for messages. */
  readonly description: string;
}

/**
 * Validates the options of `consul.balancer(service, options)` (the service name itself is
 * checked by the watch).
 *
 * @throws ValidationError for a bad option
 */
export function resolveBalancerOptions(service: string, options: BalancerOptions): ResolvedBalancerOptions {
  checkBalancerOptionKeys(options);
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
  const outliers = resolveOutlierSettings(outlierDetection);
  checkSignal(signal);
  const chosen = createStrategy(strategy);
  return {
    strategy: chosen,
    passingOnly,
    maxAttempts: attemptsOption('maxAttempts', maxAttempts, DEFAULT_MAX_ATTEMPTS),
    requestTimeoutMs: positiveDuration('requestTimeout', requestTimeout),
    connectTimeoutMs: positiveDuration('connectTimeout', connectTimeout) ?? DEFAULT_CONNECT_TIMEOUT_MS,
    scheme,
    tls,
    outliers,
    watch: {
      ...loop,
      passing: passingOnly,
      ...(tag !== undefined && { tag }),
      ...(datacenter !== undefined && { datacenter }),
      ...(token !== undefined && { token }),
      ...(consistency !== undefined && { consistency }),
      ...(cached !== undefined && { cached }),
    },
    signal,
    description: [
      `service '${service}'`,
      ...(tag !== undefined ? [`tag ${[tag].flat().join(',')}`] : []),
      ...(datacenter !== undefined ? [`datacenter ${datacenter}`] : []),
      passingOnly ? 'passing only' : 'passing or warning',
    ].join(', '),
  };
}
