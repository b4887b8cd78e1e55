/**
 * The source behind `consul.watch.key(k)`: one per distinct key and settings. It is fed
 * either by a blocking read of its own key (direct) or by the recursive read of its folder
 * shared with sibling keys (coalesced), and can move between the two without its watches
 * seeing anything but their own key's changes.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import type { KVPair } from '../api/kv.js';
import { deepEqual } from './deep-equal.js';
import type { BlockingLoop, LoopHealth, LoopSubscriber } from './loop.js';
import type { WatchSource } from './source.js';
import { SubscriberList } from './subscriber-list.js';

/** A key's value: its entry, or `undefined` while it does not exist. */
export type KeyValue = KVPair | undefined;

/** Where a {@link KeyFeed} gets its values from. */
export type KeyFeedMode = 'direct' | 'coalesced';

/** The read that feeds a {@link KeyFeed}; see {@link KeyFeed.connect}. */
export type KeyFeedUpstream =
  | { readonly mode: 'direct'; readonly loop: BlockingLoop<KeyValue> }
  | {
      readonly mode: 'coalesced';
      readonly loop: BlockingLoop<KVPair[]>;
      readonly join: (feed: KeyFeed) => void;
      readonly leave: (feed: KeyFeed) => void;
    };

/**
 * Per-key projection with the semantics of a single-key watch: the value is the entry whose
 * key is exactly this one (a folder read also holds deeper keys and keys sharing the string
 * prefix), a `change` only when that entry differs, a deletion is a change to `undefined`,
 * and the index is the entry's `ModifyIndex` (what a single-key read returns as
 * `X-Consul-Index`) or, while the key does not exist, the folder read's index.
 */
export class KeyFeed implements WatchSource<KeyValue> {
  /** The watched key. */
  readonly key: string;
  /** The folder this key may be coalesced into, or `undefined` (top-level key). */
  readonly group: string | undefined;
  readonly description: string;
  readonly #logger: Logger;
  readonly #onEmpty: (feed: KeyFeed) => void;
  readonly #subscribers = new SubscriberList<LoopSubscriber<KeyValue>>();
  #current: { value: KeyValue } | undefined;
  #upstream: KeyFeedUpstream | undefined;
  #finished = false;
  // The feed's face towards a direct loop: a fresh object per connection, so a late call
  // from a loop the feed has left can be told apart and ignored.
  #directSubscriber: LoopSubscriber<KeyValue> | undefined;

  /**
   * @param onFirst - called when the first watch attaches: the owner connects the feed
   * @param onEmpty - called when the last watch leaves or the feed fails: the owner forgets it
   */
  constructor(
    key: string,
    group: string | undefined,
    logger: Logger,
    private readonly onFirst: (feed: KeyFeed) => void,
    onEmpty: (feed: KeyFeed) => void,
  ) {
    this.key = key;
    this.group = group;
    this.description = `kv.get(key=${JSON.stringify(key)})`;
    this.#logger = logger;
    this.#onEmpty = onEmpty;
  }

  /** How the feed is served now (`undefined` before its first watch). */
  get mode(): KeyFeedMode | undefined {
    return this.#upstream?.mode;
  }

  /** Whether the feed has stopped; a stopped feed takes no watches. */
  get finished(): boolean {
    return this.#finished;
  }

  get current(): { readonly value: KeyValue } | undefined {
    return this.#current;
  }

  get index(): bigint | undefined {
    const upstream = this.#upstream;
    if (upstream?.mode === 'coalesced') return this.#current?.value?.ModifyIndex ?? upstream.loop.index;
    return upstream?.loop.index;
  }

  get health(): LoopHealth {
    const health = this.#upstream?.loop.health ?? 'starting';
    // Right after a switch the new read has not answered yet, but the value is still good.
    return health === 'starting' && this.#current !== undefined ? 'live' : health;
  }

  get lastError(): Error | undefined {
    return this.#upstream?.loop.lastError;
  }

  /** Watches attached. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  attach(subscriber: LoopSubscriber<KeyValue>): void {
    if (this.#finished) throw new Error(`consulkit: watch ${this.description} has stopped`);
    // Connected before the watch is added: an upstream that already has a value (a folder
    // read of sibling keys) offers it at once, and a watch still being constructed must not
    // get it as a synchronous `change` nobody listens to yet; it picks `current` up instead.
    if (this.#subscribers.size === 0 && this.#upstream === undefined) this.onFirst(this);
    this.#subscribers.add(subscriber);
  }

  detach(subscriber: LoopSubscriber<KeyValue>): Promise<void> {
    this.#subscribers.delete(subscriber);
    if (this.#subscribers.size > 0 || this.#finished) return Promise.resolve();
    this.#finished = true;
    this.#onEmpty(this);
    return this.#disconnect();
  }

  /**
   * Moves the feed onto `upstream`, leaving the previous one. The value known so far is kept:
   * the new read's first answer is compared with it, so a move is no `change` by itself.
   */
  connect(upstream: KeyFeedUpstream): void {
    if (this.#finished) return;
    const previous = this.#disconnect();
    previous.catch((error: unknown) =>
      this.#logger.error({ err: error, watch: this.description }, 'consulkit: leaving a watch read failed'),
    );
    this.#upstream = upstream;
    if (upstream.mode === 'direct') {
      const subscriber: LoopSubscriber<KeyValue> = {
        deliver: (value) => this.#directSubscriber === subscriber && this.offer(value),
        report: (error) => this.#directSubscriber === subscriber && this.report(error),
        fail: (error) => this.#directSubscriber === subscriber && this.fail(error),
        end: () => this.#directSubscriber === subscriber && this.end(),
      };
      this.#directSubscriber = subscriber;
      upstream.loop.attach(subscriber);
      const current = upstream.loop.current;
      if (current !== undefined) this.offer(current.value);
    } else {
      upstream.join(this);
    }
  }

  /** A value for this key from the current upstream: delivered only if it differs. */
  offer(value: KeyValue): void {
    if (this.#finished) return;
    if (this.#current !== undefined && deepEqual(this.#current.value, value)) return;
    this.#current = { value };
    for (const subscriber of this.#subscribers.current()) subscriber.deliver(value);
  }

  /** A transient failure of the upstream read. */
  report(error: Error): void {
    for (const subscriber of this.#subscribers.current()) subscriber.report(error);
  }

  /** A fatal failure of the upstream read: the feed stops with it. */
  fail(error: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#onEmpty(this);
    const subscribers = this.#subscribers.takeAll();
    this.#upstream = undefined;
    this.#directSubscriber = undefined;
    for (const subscriber of subscribers) subscriber.fail(error);
  }

  /** The client is closing. */
  end(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#onEmpty(this);
    for (const subscriber of this.#subscribers.takeAll()) subscriber.end();
    this.#disconnect().catch((error: unknown) =>
      this.#logger.error({ err: error, watch: this.description }, 'consulkit: leaving a watch read failed'),
    );
  }

  #disconnect(): Promise<void> {
    const upstream = this.#upstream;
    this.#upstream = undefined;
    if (upstream === undefined) return Promise.resolve();
    if (upstream.mode === 'coalesced') {
      upstream.leave(this);
      return Promise.resolve();
    }
    const subscriber = this.#directSubscriber;
    this.#directSubscriber = undefined;
    return subscriber === undefined ? Promise.resolve() : upstream.loop.detach(subscriber);
  }
}
