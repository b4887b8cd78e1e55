/**
 * The public shape of a watch. Every primitive and every `consul.watch.*` call hands out
 * objects of this shape; the shared engine behind them lives in the other modules of
 * `src/watch/`.
 *
 * @packageDocumentation
 */
import type { ConsistencyMode } from '../config.js';
import type { Duration } from '../duration.js';

/** Events of a {@link Watch}. */
export interface WatchEvents<T> {
  /** The data changed (not merely the index). `previous` is `undefined` for the first value. */
  change: (value: T, previous: T | undefined) => void;
  /**
   * A failure of the blocking loop (retryable ones, 403 included, keep the loop running with
   * backoff; others stop it and close the watch), an answer without an index (once per
   * streak), or an error thrown by one of this watch's `change` listeners.
   */
  error: (error: Error) => void;
}

/**
 * Where a watch is:
 * - `starting`: no answer yet;
 * - `live`: the last read succeeded;
 * - `retrying`: the last read failed (Consul unreachable, a timeout, a 5xx, a mangled answer,
 *   or a refused token) and the loop is backing off; {@link Watch.lastError} says why;
 * - `closed`: closed by `close()`, its signal or the client, or stopped by a fatal error.
 */
export type WatchState = 'starting' | 'live' | 'retrying' | 'closed';

/** Options every watch accepts. */
export interface WatchOptions {
  /** Datacenter to watch instead of the client's default. */
  datacenter?: string;
  /** ACL token for this watch instead of the client's. */
  token?: string;
  /** Consistency mode of the blocking reads. Default: the client's. */
  consistency?: ConsistencyMode;
  /**
   * Longest time Consul holds one blocking read (1 s to 10 min). Default 1 minute: besides
   * the request rate, it bounds how long a silently dead connection goes unnoticed (see
   * {@link WatchOptions.timeout}).
   */
  wait?: Duration;
  /**
   * Margin on top of Consul's own bound: a read gets no answer within
   * `wait + wait/16 + timeout` (Consul adds up to `wait/16` of jitter) fails with
   * `TimeoutError`, the connection is dropped and the loop retries on a new one. This is what
   * detects a half-open connection. Default 10 s.
   */
  timeout?: Duration;
  /**
   * Least time between the starts of two reads of the loop, so that rapid changes or an agent
   * answering at once cannot make it spin. Default 100 ms.
   */
  minInterval?: Duration;
  /**
   * Backoff after a transient failure (connection error, timeout, 5xx, 429, a mangled
   * answer, a 403) and between answers that carry no index: exponential
   * from `initialDelay` (default 500 ms) up to `maxDelay` (default 30 s), each delay
   * jittered into its upper half.
   */
  backoff?: WatchBackoffOptions;
  /**
   * What a refused read (403) does. `'retry'` (the default) keeps the watch alive: each
   * refusal is reported on `error` and retried with the backoff, so a token rotation, a
   * policy granted later or ACL replication lag heals the watch without a restart. `'fail'`
   * stops the watch on the first refusal, for one-shot uses that must fail fast (lock and
   * semaphore acquisition use it).
   */
  permissionDenied?: 'retry' | 'fail';
  /** Closes the watch when aborted. */
  signal?: AbortSignal;
}

/** Backoff bounds of a watch. */
export interface WatchBackoffOptions {
  /** Delay after the first failure. Default 500 ms. */
  initialDelay?: Duration;
  /** Longest delay. Default 30 s. */
  maxDelay?: Duration;
}

/**
 * A live view of one Consul query. Identical queries (same endpoint, parameters, datacenter,
 * token, consistency and loop options) share one blocking loop, however many watches exist.
 *
 * - Every watch sees the first answer as a `change` with `previous` undefined; a watch that
 *   joins a running loop gets the current value at once (`current`, `ready()`, the iterator)
 *   and that first `change` on the next microtask, after its listeners are attached.
 * - `change` fires only when the data differ (deep equality, Buffers and bigints included),
 *   never for a mere index move.
 * - Transient failures reach `error` listeners and the log while the loop backs off and
 *   resumes: connection failures, timeouts, 5xx, 429, an answer mangled by a proxy
 *   (`InvalidResponseError`) and a refused token (403 `PermissionDeniedError`, so a token
 *   rotation or a policy granted later heals the watch). Each failed read is reported, and
 *   `state`/`lastError` show it. A fatal failure (400, bad input) reaches them too, then
 *   closes the watch: `ready()` rejects with it and iterators throw it.
 * - An answer without `X-Consul-Index` (a proxy stripping headers) is delivered, reported
 *   once as an `InvalidResponseError`, and the next reads are paced by the backoff instead
 *   of the rate limit.
 * - A listener that throws is logged and reported on `error`; it never stops the loop or
 *   other listeners.
 * - Iterating yields the current value, then changes, with latest-value semantics (a slow
 *   consumer skips to the newest snapshot). Leaving the `for await` early closes the watch.
 * - Values are shared by every watch of the loop (and compared with the next answer): treat
 *   them as read-only.
 */
export interface Watch<T> extends AsyncIterable<T>, AsyncDisposable {
  /** The latest value, or `undefined` before the first answer (also a valid value for a missing key: check `index`). */
  readonly current: T | undefined;
  /** `X-Consul-Index` of the latest answer; `undefined` before the first. */
  readonly index: bigint | undefined;
  /** Whether {@link Watch.close} was called (or the watch stopped on a fatal error). */
  readonly closed: boolean;
  /** Where the watch is: starting, live, retrying after a failure, or closed. */
  readonly state: WatchState;
  /**
   * Why the watch is not healthy: the failure being retried (`state` is `retrying`), the
   * warning about answers without an index while they last, or the error that stopped it.
   * `undefined` while reads succeed, and after a plain `close()`.
   */
  readonly lastError: Error | undefined;
  /** Resolves with the first value (at once if there is one); rejects if the watch fails fatally or closes first. */
  ready(): Promise<T>;
  /** Subscribes to `change` or `error`. Returns the watch for chaining. */
  on<E extends keyof WatchEvents<T>>(event: E, listener: WatchEvents<T>[E]): this;
  /** Unsubscribes a listener. */
  off<E extends keyof WatchEvents<T>>(event: E, listener: WatchEvents<T>[E]): this;
  /** Leaves the shared loop; the loop stops when its last watch leaves. Idempotent. */
  close(): Promise<void>;
}
