/**
 * What the watch engine does when the agent refuses connections because its per-client limit
 * (`http_max_conns_per_client`) is full: shrink the blocking slots to what the client holds,
 * grow them back slowly (additive increase after a multiplicative decrease, like TCP), and
 * log one warning per episode instead of one per refused read.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';

/** The part of the scheduler the governor steers. */
export interface SlotTarget {
  /** Slots now. */
  readonly slots: number;
  /** Turns held now (reads running, each on a connection the agent accepted). */
  readonly held: number;
  setSlots(slots: number): void;
}

/** Settings of a {@link LimitGovernor}. */
export interface LimitGovernorOptions {
  /** Slots when the agent accepts everything: the configured blocking budget. */
  readonly maxSlots: number;
  /** Quiet time after which `step` slots are given back. Default 60 s. */
  readonly growEveryMs?: number;
  /** Slots given back per quiet period: 1 over HTTP/1.1, a connection's streams over h2. Default 1. */
  readonly step?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/** Figures of a {@link LimitGovernor}, for `stats()`. */
export interface LimitGovernorStats {
  /** Reads refused by the agent's per-client limit, since the client started. */
  limitRefusals: number;
  /** Whether the slots are shrunk now. */
  limited: boolean;
}

/** See the module comment. One per client. */
export class LimitGovernor {
  readonly #target: SlotTarget;
  readonly #logger: Logger;
  readonly #maxSlots: number;
  readonly #growEveryMs: number;
  readonly #step: number;
  readonly #now: () => number;
  #refusals = 0;
  #episode = false;
  #lastRefusal = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(target: SlotTarget, logger: Logger, options: LimitGovernorOptions) {
    this.#target = target;
    this.#logger = logger;
    this.#maxSlots = options.maxSlots;
    this.#growEveryMs = options.growEveryMs ?? 60_000;
    this.#step = options.step ?? 1;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Current figures. */
  get stats(): LimitGovernorStats {
    return { limitRefusals: this.#refusals, limited: this.#episode };
  }

  /**
   * A blocking read was refused because the per-client limit is full. The slots drop to the
   * reads still running besides the refused one (connections the agent did accept), at least 1.
   */
  refused(): void {
    this.#refusals++;
    this.#lastRefusal = this.#now();
    const keep = Math.max(1, this.#target.held - 1);
    if (keep < this.#target.slots) this.#target.setSlots(keep);
    if (!this.#episode) {
      this.#episode = true;
      this.#logger.warn(
        { slots: this.#target.slots, budget: this.#maxSlots },
        'consulkit: the agent refuses connections (its per-client limit is full: other processes of this host hold them); sharing fewer blocking connections until it accepts again',
      );
    }
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.tick(), Math.max(1, Math.floor(this.#growEveryMs / 4)));
      this.#timer.unref();
    }
  }

  /** Gives a slot back after a quiet period; ends the episode at the full budget. Exposed for tests. */
  tick(): void {
    if (!this.#episode) return;
    if (this.#now() - this.#lastRefusal < this.#growEveryMs) return;
    this.#lastRefusal = this.#now();
    const slots = Math.min(this.#maxSlots, this.#target.slots + this.#step);
    this.#target.setSlots(slots);
    if (slots >= this.#maxSlots) {
      this.#episode = false;
      this.close();
      this.#logger.info(
        { slots },
        'consulkit: the agent accepts connections again; blocking budget restored',
      );
    }
  }

  /** Stops the timer (the client is closing). */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
