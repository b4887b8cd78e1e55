/**
 * Options shared by the lock, the semaphore and the election (the session behind them, and
 * how acquisition waits), with their defaults and validation.
 *
 * @packageDocumentation
 */
import { LOCK_DELAY_MAX_MS, SESSION_TTL_MAX_MS, SESSION_TTL_MIN_MS } from '../../api/session.js';
import { MAX_KV_VALUE_BYTES, type KVValue } from '../../api/kv.js';
import { boundedDuration, toMilliseconds, type Duration } from '../../duration.js';
import { ValidationError } from '../../errors.js';
import { checkOptionKeys, optionKeys } from '../../options-check.js';
import type { CallOptions } from '../../transport/types.js';
import type { WatchOptions } from '../../watch/types.js';

/** Default session TTL, as Go's api.Lock: 15 s. */
export const DEFAULT_LOCK_TTL_MS = 15_000;
/** Default lock-delay: Consul's own default, 15 s. */
export const DEFAULT_LOCK_DELAY_MS = 15_000;
/** Default TTL of the heartbeat check of {@link HeartbeatOptions}: 2 s. */
export const DEFAULT_HEARTBEAT_TTL_MS = 2_000;
/** Shortest heartbeat TTL accepted: below this, ordinary event-loop or GC pauses would cost the lock. */
export const MIN_HEARTBEAT_TTL_MS = 1_000;
/** Service name under which heartbeat checks are registered. */
export const DEFAULT_HEARTBEAT_SERVICE = 'consulkit-session';

/**
 * Binds the session to a TTL check on the local agent that this process heartbeats: if the
 * process dies, the check turns critical after `ttl` and Consul invalidates the session at
 * once, instead of up to 2 × the session TTL later. This is the fast-failover setting.
 *
 * The check is registered as a small service (`consulkit-session`, one instance per
 * session, check `<instance>:ttl`), so that a crashed process leaves nothing behind: the
 * agent reaps the instance a minute or so after its check turned critical
 * (`DeregisterCriticalServiceAfter`). A node-level check would instead stay critical and mark
 * every service of the node unhealthy. Needs `service "consulkit-session" { policy = "write" }`.
 */
export interface HeartbeatOptions {
  /** TTL of the check. Default `'2s'`; at least 1 s. */
  ttl?: Duration;
  /** Time between heartbeats. Default `ttl / 4`. */
  interval?: Duration;
  /** Service name of the heartbeat instance. Default `'consulkit-session'`. */
  serviceName?: string;
}

/** Options of the Consul session behind a lock, semaphore or election. */
export interface SessionOptions {
  /**
   * Session TTL, 10 s to 24 h. Default `'15s'`. The session is renewed every `ttl / 3`; if no
   * renewal succeeds for a full `ttl` (counted from when the last good one was sent), the
   * holder gives the lock up, because from then on Consul may invalidate the session (it does
   * so between 1 × and 2 × TTL after the last renewal it saw).
   */
  ttl?: Duration;
  /**
   * Lock-delay of the session, 0 to 60 s. Default `'15s'` (Consul's default). After the
   * session is invalidated (not after a normal release), the keys it held cannot be acquired
   * for this long: time for a holder that lost its session to notice and stop.
   */
  lockDelay?: Duration;
  /** Session name shown by `consul operator` tools and the UI. Default: describes the primitive and key. */
  sessionName?: string;
  /**
   * Health checks (IDs on the local agent) that invalidate the session when critical; sent
   * as the session's `NodeChecks`, exactly as given (nothing is added to them).
   * Default for a lock or an election: `['serfHealth']` (the node's own liveness) when
   * `lockDelay` ≥ `ttl`, none otherwise, because a check may invalidate the session before
   * the holder can notice and only a lock-delay at least as long as the TTL keeps the next
   * holder out until then. Default for a semaphore: none, because its slots are freed by
   * pruning, which no lock-delay covers. An empty array leaves the TTL alone. Explicit checks
   * that can outrun the holder (a shorter lock-delay, or any on a semaphore) are allowed but
   * logged as a warning: the protected resource must then rely on the fencing token.
   */
  checks?: readonly string[];
  /**
   * Fast failover: bind the session to a heartbeated TTL check (its only service check; with
   * no `serfHealth`, so a node cut off from the servers fails over by the session TTL, after
   * its holder gave up). `true` uses the defaults.
   */
  heartbeat?: HeartbeatOptions | boolean;
  /**
   * An existing session to use instead of creating one. consulkit then neither renews nor
   * destroys it, and loss is detected only from the key (no renewal deadline): keeping the
   * session alive is the caller's job. Two locks with the same session both hold the key
   * (Consul's "reclaim").
   */
  session?: string;
  /** ACL token for every call of this primitive. Default: the client's. */
  token?: string;
}

/** Options of {@link Consul.lock}. */
export interface LockOptions extends SessionOptions {
  /** Value written to the key while held (e.g. who holds it). Default: empty. */
  value?: KVValue;
}

/** Every key of {@link HeartbeatOptions}. */
export const HEARTBEAT_OPTION_KEYS = optionKeys<HeartbeatOptions>()(['ttl', 'interval', 'serviceName']);

/** Every key of {@link SessionOptions}, which the lock, the semaphore and the election share. */
export const SESSION_OPTION_KEYS = optionKeys<SessionOptions>()([
  'ttl',
  'lockDelay',
  'sessionName',
  'checks',
  'heartbeat',
  'session',
  'token',
]);

/** Every key of {@link LockOptions}. */
export const LOCK_OPTION_KEYS = optionKeys<LockOptions>()([...SESSION_OPTION_KEYS, 'value']);

/**
 * Refuses unknown keys in the options of a session primitive, and in its `heartbeat` object.
 *
 * @param known - the primitive's keys: {@link SESSION_OPTION_KEYS} and its own
 * @param where - the entry point, for the message (`lock()`)
 * @throws UnknownOptionError for a key that is not an option
 */
export function checkSessionOptionKeys(
  options: SessionOptions,
  known: readonly string[],
  where: string,
): void {
  checkOptionKeys(options, known, where);
  if (options !== null && typeof options === 'object' && typeof options.heartbeat === 'object')
    checkOptionKeys(options.heartbeat, HEARTBEAT_OPTION_KEYS, where, 'heartbeat');
}

/** Options of `acquire()`. */
export interface AcquireOptions {
  /** Gives up waiting when aborted; `acquire()` rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Gives up after this long; `acquire()` rejects with `TimeoutError`. Default: waits forever. */
  timeout?: Duration;
}

/** Options of `tryAcquire()`. */
export interface TryAcquireOptions {
  /** Gives up when aborted; `tryAcquire()` rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * How long to wait for the key to become free. Default `0`: one attempt, `false` at once
   * when someone else holds it (or a lock-delay is in effect).
   */
  wait?: Duration;
}

/** Every key of {@link AcquireOptions}. */
export const ACQUIRE_OPTION_KEYS = optionKeys<AcquireOptions>()(['signal', 'timeout']);

/** Every key of the options of a lock's or a semaphore's `destroy()`. */
export const DESTROY_OPTION_KEYS = optionKeys<Pick<CallOptions, 'signal' | 'timeout'>>()([
  'signal',
  'timeout',
]);

/** Every key of {@link TryAcquireOptions}. */
export const TRY_ACQUIRE_OPTION_KEYS = optionKeys<TryAcquireOptions>()(['signal', 'wait']);

/**
 * A preset for fast failover: a 2 s heartbeat check and a 1 s lock-delay. After the holder's
 * process is killed, another process acquires within about 2 s (check turns critical) + 1 s
 * (lock-delay) + the wake-up of the waiter, about 3–4 s, instead of up to 2 × TTL + lock-delay
 * (45 s) with the defaults. The session is not bound to `serfHealth` (a check that could end
 * it while the holder, cut off from the servers, still runs): a node that dies or is cut off
 * fails over by the session TTL (up to 2 × TTL + 1 s). The price: a heartbeat every 500 ms to
 * the local agent, and a holder whose event loop stalls for ~2 s loses the lock.
 *
 * @example
 * ```ts
 * const lock = consul.lock('jobs/nightly/.lock', { ...FAST_FAILOVER });
 * ```
 */
export const FAST_FAILOVER: Readonly<{ heartbeat: Readonly<HeartbeatOptions>; lockDelay: Duration }> =
  Object.freeze({
    heartbeat: Object.freeze({ ttl: '2s' }),
    lockDelay: '1s',
  });

/** Resolved heartbeat settings. */
export interface ResolvedHeartbeat {
  readonly ttlMs: number;
  readonly intervalMs: number;
  readonly serviceName: string;
}

/** Session settings after defaults and validation. */
export interface ResolvedSessionOptions {
  readonly ttlMs: number;
  readonly lockDelayMs: number;
  readonly sessionName: string;
  readonly checks: readonly string[] | undefined;
  readonly heartbeat: ResolvedHeartbeat | undefined;
  readonly session: string | undefined;
  readonly token: string | undefined;
}

function optionalString(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '')
    throw new ValidationError(field, 'must be a non-empty string');
  return value;
}

function resolveHeartbeat(value: SessionOptions['heartbeat']): ResolvedHeartbeat | undefined {
  if (value === undefined || value === false) return undefined;
  const options: HeartbeatOptions = value === true ? {} : value;
  if (options === null || typeof options !== 'object') {
    throw new ValidationError('heartbeat', 'must be a boolean or { ttl?, interval?, serviceName? }');
  }
  const ttlMs =
    options.ttl === undefined
      ? DEFAULT_HEARTBEAT_TTL_MS
      : boundedDuration(options.ttl, 'heartbeat.ttl', MIN_HEARTBEAT_TTL_MS, SESSION_TTL_MAX_MS);
  const intervalMs =
    options.interval === undefined ? ttlMs / 4 : toMilliseconds(options.interval, 'heartbeat.interval');
  // A heartbeat every ttl/2 or slower leaves no room for a single lost heartbeat.
  if (intervalMs <= 0 || intervalMs > ttlMs / 2) {
    throw new ValidationError(
      'heartbeat.interval',
      `must be above 0 and at most half the check TTL (${ttlMs / 2} ms)`,
    );
  }
  const serviceName =
    optionalString('heartbeat.serviceName', options.serviceName) ?? DEFAULT_HEARTBEAT_SERVICE;
  if (serviceName.includes('/'))
    throw new ValidationError('heartbeat.serviceName', `'${serviceName}' must not contain '/'`);
  return { ttlMs, intervalMs, serviceName };
}

/**
 * Applies defaults to session options and validates them.
 *
 * @param defaultName - session name to use when none is given
 * @throws ValidationError for a TTL outside 10 s–24 h, a lock-delay above 60 s, bad checks or heartbeat
 */
export function resolveSessionOptions(options: SessionOptions, defaultName: string): ResolvedSessionOptions {
  if (options === null || typeof options !== 'object')
    throw new ValidationError('options', 'must be an object');
  const ttlMs =
    options.ttl === undefined
      ? DEFAULT_LOCK_TTL_MS
      : boundedDuration(options.ttl, 'ttl', SESSION_TTL_MIN_MS, SESSION_TTL_MAX_MS);
  const lockDelayMs =
    options.lockDelay === undefined
      ? DEFAULT_LOCK_DELAY_MS
      : boundedDuration(options.lockDelay, 'lockDelay', 0, LOCK_DELAY_MAX_MS);
  let checks: string[] | undefined;
  if (options.checks !== undefined) {
    if (!Array.isArray(options.checks)) throw new ValidationError('checks', 'must be an array of check IDs');
    checks = options.checks.map((check, index) => {
      if (typeof check !== 'string' || check === '')
        throw new ValidationError(`checks[${index}]`, 'must be a non-empty string');
      return check;
    });
  }
  const session = optionalString('session', options.session);
  const heartbeat = resolveHeartbeat(options.heartbeat);
  if (session !== undefined && heartbeat !== undefined) {
    throw new ValidationError(
      'heartbeat',
      'cannot be combined with an existing `session` (it is not created here)',
    );
  }
  return {
    ttlMs,
    lockDelayMs,
    sessionName: optionalString('sessionName', options.sessionName) ?? defaultName,
    checks,
    heartbeat,
    session,
    token: optionalString('token', options.token),
  };
}

/** Validates a KV value option (string or bytes) and returns it as bytes. */
export function resolveValue(value: KVValue | undefined): Buffer {
  if (value === undefined) return Buffer.alloc(0);
  let bytes: Buffer;
  if (typeof value === 'string') bytes = Buffer.from(value, 'utf8');
  else if (value instanceof Uint8Array) bytes = Buffer.from(value);
  else throw new ValidationError('value', 'must be a string, Buffer or Uint8Array');
  // The value is written with the acquiring transaction; refusing it here means a
  // contender never creates a session only to have Consul reject its first write.
  if (bytes.byteLength > MAX_KV_VALUE_BYTES) {
    throw new ValidationError(
      'value',
      `${bytes.byteLength} bytes exceeds Consul's ${MAX_KV_VALUE_BYTES}-byte limit`,
    );
  }
  return bytes;
}

/**
 * Options of the watches the primitives read through: consistent reads (as Go's monitor,
 * since a stale answer could hide a loss for a moment), a short minimum interval (a lock
 * handover or a loss should not wait for the default 100 ms pacing), a backoff capped at 5 s
 * so that monitoring resumes soon after an outage, and a 15 s wait (Go's
 * `DefaultLockWaitTime`), which bounds how long a read can stay parked on an agent that came
 * back with a lower index (restarted with its state lost) or on a silently dead connection.
 */
export function primitiveWatchOptions(token: string | undefined): WatchOptions {
  const options: WatchOptions = {
    consistency: 'consistent',
    wait: '15s',
    minInterval: 20,
    backoff: { maxDelay: '5s' },
    // An acquisition without read rights must fail fast, and a holder that can no longer
    // read its key cannot tell it still holds it.
    permissionDenied: 'fail',
  };
  if (token !== undefined) options.token = token;
  return options;
}
