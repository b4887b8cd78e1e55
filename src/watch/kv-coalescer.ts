/**
 * Serves `consul.watch.key` watches either by a blocking read per key or, when the client
 * runs more blocking loops than it has blocking slots, by one recursive read per folder (see
 * {@link planCoalescing}). Watches keep exact single-key semantics either way.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import type { KVPair } from '../api/kv.js';
import { folderOf, planCoalescing } from './coalesce-plan.js';
import { KeyFeed, type KeyValue } from './key-feed.js';
import { KvGroup } from './kv-group.js';
import type { BlockingLoop } from './loop.js';
import { loopKey, type LoopSettings, type WatchQuery } from './query.js';

/** What the coalescer needs from the engine that owns the loops. */
export interface LoopProvider {
  /** The shared loop of `query` (joined if running, created otherwise). */
  loopFor<T>(query: WatchQuery<T>, settings: LoopSettings): BlockingLoop<T>;
  /** Loops running now. */
  readonly loopCount: number;
  /** Blocking reads that can run at once. */
  readonly slots: number;
}

/** Builds the query of a folder's recursive read. */
export type FolderQuery = (prefix: string) => WatchQuery<KVPair[]>;

interface FeedRecord {
  readonly query: WatchQuery<KeyValue>;
  readonly settings: LoopSettings;
}

interface Folder {
  readonly prefix: string;
  readonly settings: LoopSettings;
  readonly list: FolderQuery;
  readonly feeds: Set<KeyFeed>;
  group: KvGroup | undefined;
}

/** Coalescing figures, for `stats()`. */
export interface CoalescingStats {
  /** Folders read as one recursive query. */
  coalescedGroups: number;
  /** Key watches (distinct keys) served by those folder reads. */
  coalescedKeys: number;
  /** Distinct keys watched. */
  keyFeeds: number;
  /** Watches open on keys. */
  keyWatches: number;
  /** Subscriptions the feeds hold on loops (one per direct feed, one per folder group). */
  loopSubscriptions: number;
}

/** Owns the key feeds and folder groups of one engine. */
export class KvCoalescer {
  readonly #provider: LoopProvider;
  readonly #logger: Logger;
  readonly #feeds = new Map<string, KeyFeed>();
  readonly #records = new Map<KeyFeed, FeedRecord>();
  readonly #folders = new Map<string, Folder>();
  #coalesced = new Set<string>();
  #planning = false;
  #replanQueued = false;

  constructor(provider: LoopProvider, logger: Logger) {
    this.#provider = provider;
    this.#logger = logger;
  }

  /** The feed of `key` with these settings: shared by every watch of it. */
  feed(key: string, query: WatchQuery<KeyValue>, list: FolderQuery, settings: LoopSettings): KeyFeed {
    const id = loopKey(query, settings);
    const existing = this.#feeds.get(id);
    if (existing !== undefined && !existing.finished) return existing;
    const prefix = folderOf(key);
    const folderId =
      prefix === undefined ? undefined : loopKey({ endpoint: 'kv.list', params: { prefix } }, settings);
    const feed = new KeyFeed(
      key,
      folderId,
      this.#logger,
      () => this.#start(feed, prefix, list),
      () => this.#forget(id, feed),
    );
    this.#feeds.set(id, feed);
    this.#records.set(feed, { query, settings });
    return feed;
  }

  /** Current figures. */
  stats(): CoalescingStats {
    let coalescedKeys = 0;
    for (const id of this.#coalesced) coalescedKeys += this.#folders.get(id)?.feeds.size ?? 0;
    let keyWatches = 0;
    let loopSubscriptions = 0;
    for (const feed of this.#records.keys()) {
      keyWatches += feed.subscriberCount;
      if (feed.mode === 'direct') loopSubscriptions++;
    }
    for (const folder of this.#folders.values()) if ((folder.group?.size ?? 0) > 0) loopSubscriptions++;
    return {
      coalescedGroups: this.#coalesced.size,
      coalescedKeys,
      keyFeeds: this.#records.size,
      keyWatches,
      loopSubscriptions,
    };
  }

  /**
   * Recomputes which folders are coalesced and moves the feeds whose folder changed mode.
   * Called when a loop starts or stops; batched to once per tick.
   */
  schedulePlan(): void {
    if (this.#replanQueued) return;
    this.#replanQueued = true;
    queueMicrotask(() => {
      this.#replanQueued = false;
      this.#plan();
    });
  }

  #start(feed: KeyFeed, prefix: string | undefined, list: FolderQuery): void {
    const record = this.#records.get(feed);
    if (record === undefined) return;
    if (feed.group !== undefined && prefix !== undefined) {
      let folder = this.#folders.get(feed.group);
      if (folder === undefined) {
        folder = { prefix, settings: record.settings, list, feeds: new Set(), group: undefined };
        this.#folders.set(feed.group, folder);
      }
      folder.feeds.add(feed);
      this.#plan();
      if (feed.mode === undefined) this.#connect(feed, this.#coalesced.has(feed.group));
      return;
    }
    this.#connect(feed, false);
    this.schedulePlan();
  }

  #forget(id: string, feed: KeyFeed): void {
    if (this.#feeds.get(id) === feed) this.#feeds.delete(id);
    this.#records.delete(feed);
    if (feed.group !== undefined) {
      const folder = this.#folders.get(feed.group);
      folder?.feeds.delete(feed);
      if (folder?.feeds.size === 0 && folder.group === undefined) this.#folders.delete(feed.group);
    }
    this.schedulePlan();
  }

  #connect(feed: KeyFeed, coalesced: boolean): void {
    const record = this.#records.get(feed);
    if (record === undefined || feed.finished) return;
    const folder = feed.group === undefined ? undefined : this.#folders.get(feed.group);
    if (coalesced && folder !== undefined && feed.group !== undefined) {
      if (folder.group === undefined || folder.group.finished) {
        const id = feed.group;
        const loop = this.#provider.loopFor(folder.list(folder.prefix), folder.settings);
        const group: KvGroup = new KvGroup(loop, this.#logger, () => {
          if (folder.group === group) folder.group = undefined;
          if (folder.feeds.size === 0 && this.#folders.get(id) === folder) this.#folders.delete(id);
        });
        folder.group = group;
      }
      feed.connect(folder.group.upstream());
    } else {
      feed.connect({ mode: 'direct', loop: this.#provider.loopFor(record.query, record.settings) });
    }
  }

  #plan(): void {
    if (this.#planning) return;
    this.#planning = true;
    try {
      const counts = new Map<string, number>();
      let managed = 0;
      for (const [id, folder] of this.#folders) {
        if (folder.feeds.size === 0) continue;
        counts.set(id, folder.feeds.size);
        if (folder.group !== undefined && folder.group.size > 0) managed++;
        for (const feed of folder.feeds) if (feed.mode === 'direct') managed++;
      }
      const next = planCoalescing({
        folders: counts,
        others: Math.max(0, this.#provider.loopCount - managed),
        slots: this.#provider.slots,
        current: this.#coalesced,
      });
      const previous = this.#coalesced;
      this.#coalesced = next;
      for (const id of new Set([...previous, ...next])) {
        const coalesced = next.has(id);
        if (previous.has(id) === coalesced) continue;
        const folder = this.#folders.get(id);
        if (folder === undefined) continue;
        for (const feed of [...folder.feeds]) {
          if (feed.mode !== undefined) this.#connect(feed, coalesced);
        }
      }
    } finally {
      this.#planning = false;
    }
  }
}
