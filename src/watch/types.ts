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
   * A failure of the blocking loop (retryable ones keep the loop running with backoff; others
   * stop it and close the watch), or an error thrown by one of this watch's `change` listeners.
   */
  error: (error: Error) => void;
}

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
   * Backoff after a transient failure (connection error, timeout, 5xx, 429): exponential
   * from `initialDelay` (default 500 ms) up to `maxDelay` (default 30 s), each delay
   * jittered into its upper half.
   */
  backoff?: WatchBackoffOptions;
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
 *   resumes; a fatal one (400, 403…) reaches them too, then closes the watch: `ready()`
 *   rejects with it and iterators throw it.
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
  /** Resolves with the first value (at once if there is one); rejects if the watch fails fatally or closes first. */
  ready(): Promise<T>;
  /** Subscribes to `change` or `error`. Returns the watch for chaining. */
  on<E extends keyof WatchEvents<T>>(event: E, listener: WatchEvents<T>[E]): this;
  /** Unsubscribes a listener. */
  off<E extends keyof WatchEvents<T>>(event: E, listener: WatchEvents<T>[E]): this;
  /** Leaves the shared loop; the loop stops when its last watch leaves. Idempotent. */
  close(): Promise<void>;
}
