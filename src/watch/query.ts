/**
 * What a blocking loop reads, and how its settings are resolved from {@link WatchOptions}.
 * Identical queries (same endpoint, parameters and settings) map to the same loop key, so
 * they share one loop.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import type { ConsulRead } from '../api/read.js';
import type { ConsistencyMode } from '../config.js';
import { boundedDuration } from '../duration.js';
import { ValidationError } from '../errors.js';
import { validateToken } from '../transport/token.js';
import type { ReadOptions } from '../transport/types.js';
import type { BackoffPolicy } from '../timing/index.js';
import type { IndexMode } from './index-rules.js';
import type { WatchOptions } from './types.js';

/** A value that may appear in {@link WatchQuery.params}. */
export type WatchParam = string | number | boolean | undefined;

/**
 * A read that a blocking loop repeats. `endpoint` and `params` are the query's identity: two
 * queries with equal `endpoint` and `params` (and equal {@link WatchOptions}) share one loop,
 * so they must fully determine what `read` fetches.
 *
 * @example
 * ```ts
 * const query: WatchQuery<SessionEntry | undefined> = {
 *   endpoint: 'session.info',
 *   params: { id },
 *   read: (options) => consul.session.info(id, options),
 * };
 * ```
 */
export interface WatchQuery<T> {
  /** Name of the endpoint, e.g. `kv.get` or `health.service`. */
  readonly endpoint: string;
  /** Every parameter that changes the answer (key, tag, flags…). */
  readonly params: Readonly<Record<string, WatchParam>>;
  /** How the endpoint's index behaves. Default `'raft'`. */
  readonly indexMode?: IndexMode;
  /**
   * Sends one read with the given options (index, wait, signal, timeout, consistency,
   * datacenter, token, cached), which must be passed on unchanged.
   */
  read(options: ReadOptions): ConsulRead<T>;
}

/** Loop settings after defaults and validation. */
export interface LoopSettings {
  readonly datacenter: string | undefined;
  readonly token: string | undefined;
  readonly consistency: ConsistencyMode | undefined;
  readonly cached: boolean;
  readonly waitMs: number;
  readonly marginMs: number;
  readonly minIntervalMs: number;
  readonly backoff: BackoffPolicy;
  /** Whether a 403 is retried (see {@link WatchOptions.permissionDenied}). */
  readonly retryDenied: boolean;
}

/** Defaults of {@link WatchOptions}, in milliseconds. */
export const WATCH_DEFAULTS = Object.freeze({
  waitMs: 60_000,
  marginMs: 10_000,
  minIntervalMs: 100,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
});

const CONSISTENCY_MODES: readonly string[] = ['default', 'stale', 'consistent'];

/**
 * Validates {@link WatchOptions} and fills in defaults.
 *
 * @throws ValidationError for a malformed or out-of-range duration, an unknown consistency
 *   mode, or a backoff whose initial delay exceeds its maximum
 */
export function resolveSettings(options: WatchOptions & { cached?: boolean }): LoopSettings {
  if (options.consistency !== undefined && !CONSISTENCY_MODES.includes(options.consistency)) {
    throw new ValidationError(
      'consistency',
      `'${String(options.consistency)}' is not default, stale or consistent`,
    );
  }
  if (
    options.datacenter !== undefined &&
    (typeof options.datacenter !== 'string' || options.datacenter === '')
  ) {
    throw new ValidationError('datacenter', 'must be a non-empty string');
  }
  if (options.token !== undefined) validateToken(options.token);
  if (options.permissionDenied !== undefined && !['retry', 'fail'].includes(options.permissionDenied)) {
    throw new ValidationError(
      'permissionDenied',
      `'${String(options.permissionDenied)}' is not retry or fail`,
    );
  }
  const waitMs =
    options.wait === undefined ? WATCH_DEFAULTS.waitMs : boundedDuration(options.wait, 'wait', 1000, 600_000);
  const marginMs =
    options.timeout === undefined
      ? WATCH_DEFAULTS.marginMs
      : boundedDuration(options.timeout, 'timeout', 100, 600_000);
  const minIntervalMs =
    options.minInterval === undefined
      ? WATCH_DEFAULTS.minIntervalMs
      : boundedDuration(options.minInterval, 'minInterval', 0, 60_000);
  // One bound alone adapts the other's default, so `{ maxDelay: '200ms' }` needs no initialDelay.
  const givenInitialMs =
    options.backoff?.initialDelay === undefined
      ? undefined
      : boundedDuration(options.backoff.initialDelay, 'backoff.initialDelay', 1, 600_000);
  const maxMs =
    options.backoff?.maxDelay === undefined
      ? Math.max(givenInitialMs ?? 0, WATCH_DEFAULTS.backoffMaxMs)
      : boundedDuration(options.backoff.maxDelay, 'backoff.maxDelay', 1, 600_000);
  const initialMs = givenInitialMs ?? Math.min(WATCH_DEFAULTS.backoffInitialMs, maxMs);
  if (initialMs > maxMs) throw new ValidationError('backoff', 'initialDelay must not exceed maxDelay');
  return {
    datacenter: options.datacenter,
    token: options.token,
    consistency: options.consistency,
    cached: options.cached === true,
    waitMs,
    marginMs,
    minIntervalMs,
    backoff: { initialMs, maxMs },
    retryDenied: options.permissionDenied !== 'fail',
  };
}

/**
 * The identity of a loop. The token enters only as a hash: the key stays in memory, but a
 * key that ever reached a log or a heap dump must not reveal a secret.
 */
export function loopKey(
  query: Pick<WatchQuery<unknown>, 'endpoint' | 'params'>,
  settings: LoopSettings,
): string {
  const params = Object.keys(query.params)
    .sort()
    .filter((name) => query.params[name] !== undefined)
    .map((name) => [name, query.params[name]]);
  const token = settings.token === undefined ? '' : createHash('sha256').update(settings.token).digest('hex');
  return JSON.stringify([
    query.endpoint,
    params,
    settings.datacenter ?? '',
    token,
    settings.consistency ?? '',
    settings.cached,
    settings.waitMs,
    settings.marginMs,
    settings.minIntervalMs,
    settings.backoff.initialMs,
    settings.backoff.maxMs,
    settings.retryDenied,
  ]);
}

/** A description of a query for logs: endpoint and parameters, never the token. */
export function describeQuery(query: Pick<WatchQuery<unknown>, 'endpoint' | 'params'>): string {
  const params = Object.entries(query.params)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  return params.length === 0 ? query.endpoint : `${query.endpoint}(${params.join(', ')})`;
}
