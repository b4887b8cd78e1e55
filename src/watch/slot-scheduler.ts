/**
 * Fair sharing of a fixed number of blocking-read slots (connections over HTTP/1.1, streams
 * over HTTP/2) among any number of blocking loops.
 *
 * While there are no more loops than slots, every loop gets a slot at once and keeps its full
 * `wait`: nothing changes. Oversubscribed, loops queue first-in first-out and each turn's wait
 * is shortened so that every loop gets a turn within a bounded time; a loop keeps its index
 * between turns, so a change made while it queued is answered at once on its next turn.
 *
 * @packageDocumentation
 */

import type { BlockingGate, BlockingTurn } from '../transport/blocking-gate.js';

/** Settings of a {@link SlotScheduler}. */
export interface SlotSchedulerOptions {
  /** Slots (blocking reads in flight at once). */
  readonly slots: number;
  /** Aimed-for time between two turns of one loop while oversubscribed. */
  readonly targetDelayMs: number;
  /** Shortest wait of a turn, so that oversubscription never turns into fast polling. */
  readonly minWaitMs: number;
}

/** Why a turn's read was aborted: another loop needs the slot. Not an error of the loop. */
export class PreemptedError extends Error {
  constructor() {
    super('consulkit: blocking read preempted to give its slot to a waiting watch');
    this.name = 'PreemptedError';
  }
}

/** A slot granted for one read; also the transport's {@link BlockingTurn}. */
export interface Turn extends BlockingTurn {
  /** The wait to send with this read (never above the one asked for). */
  readonly waitMs: number;
  /** Aborted when the scheduler takes the slot back (reason: {@link PreemptedError}). */
  readonly signal: AbortSignal;
  /** Gives the slot back; idempotent. */
  release(): void;
}

interface Held {
  readonly waitMs: number;
  readonly startedAt: number;
  readonly controller: AbortController;
}

interface Waiter {
  readonly maxWaitMs: number;
  readonly resolve: (turn: Turn) => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/**
 * Wait of one turn when `members` loops share `slots` slots: the full `maxWaitMs` unless
 * oversubscribed, then `targetDelayMs × slots / members`, never below `minWaitMs`.
 */
export function turnWaitMs(
  members: number,
  slots: number,
  maxWaitMs: number,
  options: Pick<SlotSchedulerOptions, 'targetDelayMs' | 'minWaitMs'>,
): number {
  if (members <= slots) return maxWaitMs;
  const share = (options.targetDelayMs * slots) / members;
  return Math.min(maxWaitMs, Math.max(options.minWaitMs, Math.floor(share)));
}

/**
 * Upper bound on the time between a change and the start of the read that sees it, for one
 * of `members` loops on `slots` slots: the loops ahead of it in the queue each hold a slot
 * for at most one turn (`wait × 17/16`, Consul's jitter), `ceil(members / slots)` rounds.
 */
export function worstCaseDelayMs(
  members: number,
  slots: number,
  maxWaitMs: number,
  options: Pick<SlotSchedulerOptions, 'targetDelayMs' | 'minWaitMs'>,
): number {
  if (members <= slots) return 0;
  const wait = turnWaitMs(members, slots, maxWaitMs, options);
  return Math.ceil(members / slots) * Math.ceil((wait * 17) / 16);
}

/** Shares slots among registered loops; see the module comment. */
export class SlotScheduler {
  #slots: number;
  readonly #options: SlotSchedulerOptions;
  readonly #now: () => number;
  readonly #held = new Set<Held>();
  readonly #queue: Waiter[] = [];
  #members = 0;
  #preemptions = 0;
  // Set while a queued loop waits for a held turn to become old enough to preempt.
  #recheck: ReturnType<typeof setTimeout> | undefined;
  /** Signals of reads sent in a granted turn: the transport must not ask for a second one. */
  readonly #turnSignals = new WeakSet<AbortSignal>();

  constructor(options: SlotSchedulerOptions, now: () => number = () => performance.now()) {
    if (!Number.isInteger(options.slots) || options.slots < 1)
      throw new RangeError('slots must be a positive integer');
    this.#slots = options.slots;
    this.#options = options;
    this.#now = now;
  }

  /** A loop joins: it counts toward oversubscription from now on. Returns its `leave`. */
  join(): () => void {
    this.#members++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#members--;
    };
  }

  /** Changes the slot count (the agent refused connections, or recovered). */
  setSlots(slots: number): void {
    this.#slots = Math.max(1, Math.floor(slots));
    this.#grant();
  }

  /** Current figures, for `stats()`. */
  get stats(): {
    slots: number;
    held: number;
    queued: number;
    members: number;
    preemptions: number;
  } {
    return {
      slots: this.#slots,
      held: this.#held.size,
      queued: this.#queue.length,
      members: this.#members,
      preemptions: this.#preemptions,
    };
  }

  /**
   * The scheduler as the transport's {@link BlockingGate}: a blocking read made outside any
   * watch (a user's own `kv.get(key, { index, wait })`) counts as one more loop while it
   * waits and runs, and takes turns like one, so the worst-case delay of the watches holds.
   */
  readonly gate: BlockingGate = {
    holdsTurn: (signal) => signal !== undefined && this.#turnSignals.has(signal),
    acquire: (maxWaitMs, signal) => {
      // Before joining: an aborted read must leave no member behind.
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      const leave = this.join();
      return this.acquire(maxWaitMs, signal).then(
        (turn) => ({
          waitMs: turn.waitMs,
          signal: turn.signal,
          signalFor: (other) => turn.signalFor(other),
          release: () => {
            turn.release();
            leave();
          },
        }),
        (reason: unknown) => {
          leave();
          throw reason;
        },
      );
    },
  };

  /** Wait of a turn granted now, for a loop that asked for `maxWaitMs`. */
  currentWaitMs(maxWaitMs: number): number {
    return turnWaitMs(this.#members, this.#slots, maxWaitMs, this.#options);
  }

  /**
   * Resolves with a turn once a slot is free (at once when one is). Rejects with the
   * signal's reason if `signal` aborts first.
   */
  acquire(maxWaitMs: number, signal?: AbortSignal): Promise<Turn> {
    signal?.throwIfAborted();
    return new Promise<Turn>((resolve, reject) => {
      const waiter: Waiter = {
        maxWaitMs,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.#queue.indexOf(waiter);
          if (at !== -1) this.#queue.splice(at, 1);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
      this.#grant();
      if (this.#queue.length > 0) this.#preempt();
    });
  }

  #grant(): void {
    while (this.#held.size < this.#slots && this.#queue.length > 0) {
      const waiter = this.#queue.shift() as Waiter;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      const held: Held = {
        waitMs: this.currentWaitMs(waiter.maxWaitMs),
        startedAt: this.#now(),
        controller: new AbortController(),
      };
      this.#held.add(held);
      let released = false;
      const turnSignal = held.controller.signal;
      waiter.resolve({
        waitMs: held.waitMs,
        signal: turnSignal,
        signalFor: (other) => {
          const signal = other === undefined ? turnSignal : AbortSignal.any([other, turnSignal]);
          this.#turnSignals.add(signal);
          return signal;
        },
        release: () => {
          if (released) return;
          released = true;
          this.#held.delete(held);
          this.#grant();
        },
      });
    }
  }

  /**
   * Loops wait and every slot is taken: held turns granted a longer wait than a turn would get
   * now (the loops just became more), and that have run at least that fair wait, are aborted,
   * oldest first, one per waiter not already covered by a free slot or an earlier preemption.
   * If the only candidates are still too young, a timer comes back when the first one is not.
   */
  #preempt(): void {
    const now = this.#now();
    let pending = 0;
    const eligible: Held[] = [];
    // When the candidates are all too young, the earliest moment one of them is not.
    let soonest = Infinity;
    for (const held of this.#held) {
      if (held.controller.signal.aborted) {
        pending++;
        continue;
      }
      const fair = this.currentWaitMs(held.waitMs);
      if (held.waitMs <= fair) continue;
      if (now - held.startedAt < fair) soonest = Math.min(soonest, held.startedAt + fair - now);
      else eligible.push(held);
    }
    let needed = this.#queue.length - pending - Math.max(0, this.#slots - this.#held.size);
    eligible.sort((a, b) => a.startedAt - b.startedAt);
    for (const held of eligible) {
      if (needed <= 0) break;
      needed--;
      this.#preemptions++;
      held.controller.abort(new PreemptedError());
    }
    if (needed > 0 && soonest !== Infinity && this.#recheck === undefined) {
      // Without this a loop that queued just after the others started their long reads
      // would wait for one of them to end on its own: a whole `wait`, not a fair turn.
      this.#recheck = setTimeout(() => {
        this.#recheck = undefined;
        if (this.#queue.length > 0) this.#preempt();
      }, Math.ceil(soonest));
      this.#recheck.unref();
    }
  }

  /** Stops the re-check timer (the client is closing). */
  close(): void {
    if (this.#recheck !== undefined) clearTimeout(this.#recheck);
    this.#recheck = undefined;
  }
}
