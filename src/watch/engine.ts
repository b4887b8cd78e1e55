/**
 * The registry of blocking loops of one client: identical queries share one loop, created
 * with the first watch and dropped when its last watch leaves.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import { ClosedError, ValidationError } from '../errors.js';
import { WatchHandle } from './handle.js';
import { BlockingLoop } from './loop.js';
import { loopKey, resolveSettings, type WatchQuery } from './query.js';
import type { Watch, WatchOptions } from './types.js';

/** Counters of a {@link WatchEngine}, for diagnostics and tests. */
export interface WatchEngineStats {
  /** Blocking loops running (one per distinct query). */
  loops: number;
  /** Open watches across all loops. */
  watches: number;
  /** Reads sent by the loops running now, since each started. */
  reads: number;
}

/** Shares blocking loops among watches. One per client; `close()` stops every loop. */
export class WatchEngine {
  readonly #logger: Logger;
  readonly #loops = new Map<string, BlockingLoop<unknown>>();
  #closed = false;

  constructor(logger: Logger) {
    this.#logger = logger;
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
    const key = loopKey(query, settings);
    if (signal?.aborted) {
      // An already-aborted watch starts nothing; it gets a loop of its own that never runs.
      return new WatchHandle(
        new BlockingLoop<T>(query, settings, this.#logger, () => undefined),
        this.#logger,
        signal,
      );
    }
    // The map holds loops of every result type; the key pins the query, so the loop found
    // under it produces this query's T.
    let loop = this.#loops.get(key) as BlockingLoop<T> | undefined;
    if (loop === undefined || loop.finished) {
      const created: BlockingLoop<T> = new BlockingLoop<T>(query, settings, this.#logger, () => {
        if (this.#loops.get(key) === created) this.#loops.delete(key);
      });
      this.#loops.set(key, created as BlockingLoop<unknown>);
      loop = created;
    }
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
    return { loops: this.#loops.size, watches, reads };
  }

  /** Closes every watch and stops every loop; resolves once no read is in flight. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const loops = [...this.#loops.values()];
    this.#loops.clear();
    await Promise.all(loops.map((loop) => loop.shutdown()));
  }
}
