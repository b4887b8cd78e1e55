/**
 * The registry of blocking loops of one client: identical queries share one loop, created
 * with the first watch and dropped when its last watch leaves.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import { ClosedError, ValidationError } from '../errors.js';
import { WatchHandle } from './handle.js';
import type { KeyValue } from './key-feed.js';
import { KvCoalescer, type FolderQuery } from './kv-coalescer.js';
import { LimitGovernor } from './limit-governor.js';
import type { Telemetry } from '../observability/telemetry.js';
import { BlockingLoop, type LoopShared } from './loop.js';
import { loopKey, resolveSettings, type LoopSettings, type WatchQuery } from './query.js';
import { SlotScheduler, worstCaseDelayMs, type SlotSchedulerOptions } from './slot-scheduler.js';
import type { Watch, WatchOptions } from './types.js';

/** Counters of a {@link WatchEngine}, for diagnostics and tests. */
export interface WatchEngineStats {
  /** Blocking loops running (one per distinct query; a coalesced folder read counts once). */
  loops: number;
  /** Open watches across all loops. */
  watches: number;
  /** Reads sent by the loops running now, since each started. */
  reads: number;
  /** Blocking reads that may run at once (the blocking connections, or h2 streams). */
  slots: number;
  /** Blocking reads running now. */
  activeReads: number;
  /** Loops waiting for a turn. */
  queuedLoops: number;
  /** Wait sent with a blocking read of the default 60 s wait now (shorter when oversubscribed). */
  turnWaitMs: number;
  /**
   * Bound on the delay between a change and the start of the read that sees it, with the
   * default 60 s wait, from the loops and slots of this moment (0 when every loop has a slot).
   */
  worstCaseDelayMs: number;
  /** Reads aborted to hand their slot to a waiting loop. */
  preemptions: number;
  /** Blocking reads refused by the agent's per-client connection limit. */
  limitRefusals: number;
  /** KV folders read as one recursive query for several key watches. */
  coalescedGroups: number;
  /** Distinct keys served by those folder reads. */
  coalescedKeys: number;
}

/** How the engine shares blocking reads: see {@link SlotScheduler} and {@link LimitGovernor}. */
export interface WatchEngineOptions extends SlotSchedulerOptions {
  /** Slots given back per quiet minute after the agent refused connections. Default 1. */
  readonly limitStep?: number;
  /** Where the loops report reads, failures and deliveries (metrics, channels, health report). */
  readonly telemetry?: Telemetry;
}

/** Defaults of the fair scheduling: 2 s between turns, never a wait under 1 s. */
export const SCHEDULING_DEFAULTS = Object.freeze({ targetDelayMs: 2000, minWaitMs: 1000 });

/** Shares blocking loops among watches. One per client; `close()` stops every loop. */
export class WatchEngine {
  readonly #logger: Logger;
  readonly #loops = new Map<string, BlockingLoop<unknown>>();
  readonly #scheduler: SlotScheduler;
  readonly #options: WatchEngineOptions;
  readonly #coalescer: KvCoalescer;
  readonly #limits: LimitGovernor;
  readonly #shared: LoopShared;
  #closed = false;

  /** @param options - slots and fair-scheduling settings; default: unlimited slots (no scheduling) */
  constructor(logger: Logger, options?: WatchEngineOptions) {
    this.#logger = logger;
    this.#options = options ?? { slots: Number.MAX_SAFE_INTEGER, ...SCHEDULING_DEFAULTS };
    this.#scheduler = new SlotScheduler(this.#options);
    const slotTarget = this.#scheduler;
    this.#limits = new LimitGovernor(
      {
        get slots() {
          return slotTarget.stats.slots;
        },
        get held() {
          return slotTarget.stats.held;
        },
        setSlots: (slots) => slotTarget.setSlots(slots),
      },
      logger,
      { maxSlots: this.#options.slots, step: this.#options.limitStep ?? 1 },
    );
    this.#shared = {
      scheduler: this.#scheduler,
      limits: this.#limits,
      ...(options?.telemetry !== undefined && { telemetry: options.telemetry }),
    };
    const loops = this.#loops;
    const scheduler = this.#scheduler;
    this.#coalescer = new KvCoalescer(
      {
        loopFor: (query, settings) => this.#loopFor(query, settings),
        get loopCount() {
          return loops.size;
        },
        get slots() {
          return scheduler.stats.slots;
        },
      },
      logger,
    );
  }

  /** The scheduler of blocking reads; the transport shrinks its slots when the agent refuses connections. */
  get scheduler(): SlotScheduler {
    return this.#scheduler;
  }

  /**
   * Opens a watch on one KV key: served by a read of the key, or by the recursive read of
   * its folder shared with sibling keys when the loops outnumber the blocking slots.
   *
   * @throws ValidationError for malformed options
   * @throws ClosedError after {@link WatchEngine.close}
   */
  watchKey(
    key: string,
    query: WatchQuery<KeyValue>,
    list: FolderQuery,
    options: WatchOptions = {},
  ): Watch<KeyValue> {
    if (this.#closed) throw new ClosedError();
    const settings = resolveSettings(options);
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new ValidationError('signal', 'must be an AbortSignal');
    }
    if (signal?.aborted) return this.watch(query, options);
    return new WatchHandle(this.#coalescer.feed(key, query, list, settings), this.#logger, signal);
  }

  #loopFor<T>(query: WatchQuery<T>, settings: LoopSettings): BlockingLoop<T> {
    const key = loopKey(query, settings);
    // The map holds loops of every result type; the key pins the query, so the loop found
    // under it produces this query's T.
    const found = this.#loops.get(key) as BlockingLoop<T> | undefined;
    if (found !== undefined && !found.finished) return found;
    const created: BlockingLoop<T> = new BlockingLoop<T>(
      query,
      settings,
      this.#logger,
      () => {
        if (this.#loops.get(key) === created) this.#loops.delete(key);
        if (!this.#closed) this.#coalescer.schedulePlan();
      },
      this.#shared,
    );
    this.#loops.set(key, created as BlockingLoop<unknown>);
    return created;
  }

  /**
   * Opens a watch on `query`, joining the loop of an identical query or starting one.
   *
   * @throws ValidationError for malformed options
   * @throws ClosedError after {@link WatchEngine.close}
   */
  watch<T>(query: WatchQuery<T>, options: WatchOptions & { cached?: boolean } = {}): Watch<T> {
    if (this.#closed) throw new ClosedError();
    const settings = resolveSettings(options);
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new ValidationError('signal', 'must be an AbortSignal');
    }
    if (signal?.aborted) {
      // An already-aborted watch starts nothing; it gets a loop of its own that never runs.
      return new WatchHandle(
        new BlockingLoop<T>(query, settings, this.#logger, () => undefined),
        this.#logger,
        signal,
      );
    }
    const before = this.#loops.size;
    const loop = this.#loopFor(query, settings);
    // One more loop may tip the demand over the slots: key watches may have to coalesce.
    if (this.#loops.size !== before) this.#coalescer.schedulePlan();
    return new WatchHandle(loop, this.#logger, signal);
  }

  /** Current counters. */
  stats(): WatchEngineStats {
    let watches = 0;
    let reads = 0;
    for (const loop of this.#loops.values()) {
      watches += loop.subscriberCount;
      reads += loop.reads;
    }
    const scheduler = this.#scheduler.stats;
    const waitMs = 60_000;
    const coalescing = this.#coalescer.stats();
    return {
      loops: this.#loops.size,
      // A key watch is subscribed to its feed, the feed (or its folder group) to the loop.
      watches: watches - coalescing.loopSubscriptions + coalescing.keyWatches,
      reads,
      slots: scheduler.slots,
      activeReads: scheduler.held,
      queuedLoops: scheduler.queued,
      turnWaitMs: this.#scheduler.currentWaitMs(waitMs),
      worstCaseDelayMs: worstCaseDelayMs(scheduler.members, scheduler.slots, waitMs, this.#options),
      preemptions: scheduler.preemptions,
      limitRefusals: this.#limits.stats.limitRefusals,
      coalescedGroups: coalescing.coalescedGroups,
      coalescedKeys: coalescing.coalescedKeys,
    };
  }

  /** Closes every watch and stops every loop; resolves once no read is in flight. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#scheduler.close();
    this.#limits.close();
    const loops = [...this.#loops.values()];
    this.#loops.clear();
    await Promise.all(loops.map((loop) => loop.shutdown()));
  }
}
