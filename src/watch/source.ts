/**
 * What a watch handle reads from: a blocking loop of its own query, or a per-key projection
 * of a coalesced folder read.
 *
 * @packageDocumentation
 */
import type { LoopHealth, LoopSubscriber } from './loop.js';

/** The producer side of a watch: values, index, health, and subscription. */
export interface WatchSource<T> {
  /** The query in words, for logs (never the token). */
  readonly description: string;
  /** The latest value, or `undefined` before the first. */
  readonly current: { readonly value: T } | undefined;
  /** `X-Consul-Index` matching the latest value. */
  readonly index: bigint | undefined;
  /** Whether the last read succeeded, failed and is retried, or none answered yet. */
  readonly health: LoopHealth;
  /** The failure the source is retrying after (or was stopped by); else `undefined`. */
  readonly lastError: Error | undefined;
  /** Adds a watch; the first one starts the source. */
  attach(subscriber: LoopSubscriber<T>): void;
  /** Removes a watch; the last one leaving stops the source (the promise settles once it has). */
  detach(subscriber: LoopSubscriber<T>): Promise<void>;
}
