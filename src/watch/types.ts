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
  /** A failure of the blocking loop. Retryable failures keep the loop running (with backoff); others stop it. */
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
  /** Longest time one blocking read is held by Consul. Default 5 minutes. */
  wait?: Duration;
  /** Closes the watch when aborted. */
  signal?: AbortSignal;
}

/**
 * A live view of one Consul query. Identical queries (same endpoint, parameters, datacenter,
 * token and consistency) share one blocking loop, however many watches exist.
 */
export interface Watch<T> extends AsyncIterable<T>, AsyncDisposable {
  /** The latest value, or `undefined` before the first answer. */
  readonly current: T | undefined;
  /** `X-Consul-Index` of the latest answer. */
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
