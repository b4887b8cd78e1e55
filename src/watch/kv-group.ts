/**
 * A coalesced KV folder: one recursive blocking read whose answers are split by key among
 * the key watches of that folder.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import type { KVPair } from '../api/kv.js';
import type { KeyFeed, KeyFeedUpstream } from './key-feed.js';
import type { BlockingLoop, LoopSubscriber } from './loop.js';

/** Subscribes to a folder's recursive read and hands each member feed its own entry. */
export class KvGroup implements LoopSubscriber<KVPair[]> {
  readonly #loop: BlockingLoop<KVPair[]>;
  readonly #logger: Logger;
  readonly #members = new Set<KeyFeed>();
  #byKey: Map<string, KVPair> | undefined;
  #attached = false;
  readonly #onEmpty: () => void;

  /** @param onEmpty - called when the last member leaves or the read stops for good */
  constructor(loop: BlockingLoop<KVPair[]>, logger: Logger, onEmpty: () => void) {
    this.#loop = loop;
    this.#logger = logger;
    this.#onEmpty = onEmpty;
  }

  /** Member feeds. */
  get size(): number {
    return this.#members.size;
  }

  /** Whether the folder read has stopped (it failed, or the client closed). */
  get finished(): boolean {
    return this.#loop.finished;
  }

  /** What a member feed connects to. */
  upstream(): KeyFeedUpstream {
    return {
      mode: 'coalesced',
      loop: this.#loop,
      join: (feed) => this.#join(feed),
      leave: (feed) => this.#leave(feed),
    };
  }

  #join(feed: KeyFeed): void {
    this.#members.add(feed);
    if (!this.#attached) {
      this.#attached = true;
      this.#loop.attach(this);
      const current = this.#loop.current;
      if (current !== undefined) this.#index(current.value);
    }
    if (this.#byKey !== undefined) feed.offer(this.#byKey.get(feed.key));
  }

  #leave(feed: KeyFeed): void {
    if (!this.#members.delete(feed) || this.#members.size > 0) return;
    this.#attached = false;
    this.#onEmpty();
    this.#loop
      .detach(this)
      .catch((error: unknown) =>
        this.#logger.error(
          { err: error, watch: this.#loop.description },
          'consulkit: stopping a folder read failed',
        ),
      );
  }

  #index(entries: KVPair[]): void {
    // A recursive read returns deeper keys and keys that merely share the string prefix
    // too; matching on the exact key keeps each member to its own entry.
    const byKey = new Map<string, KVPair>();
    for (const entry of entries) byKey.set(entry.Key, entry);
    this.#byKey = byKey;
  }

  deliver(entries: KVPair[]): void {
    this.#index(entries);
    const byKey = this.#byKey;
    for (const feed of [...this.#members]) feed.offer(byKey?.get(feed.key));
  }

  report(error: Error): void {
    for (const feed of [...this.#members]) feed.report(error);
  }

  fail(error: Error): void {
    const members = [...this.#members];
    this.#members.clear();
    this.#attached = false;
    this.#onEmpty();
    for (const feed of members) feed.fail(error);
  }

  end(): void {
    const members = [...this.#members];
    this.#members.clear();
    this.#attached = false;
    this.#onEmpty();
    for (const feed of members) feed.end();
  }
}
