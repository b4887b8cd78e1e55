/**
 * What a nemesis run records: every hold as an interval on one shared clock, from the
 * holder's own view, and every fault the nemesis injected.
 */

/** The three primitives under test. */
export type PrimitiveKind = 'lock' | 'semaphore' | 'election';

/**
 * One hold: `start` when acquire()/campaign() resolved, `end` when the holder's own code saw
 * the loss (its signal aborted) or decided to release (just before calling release()), in
 * ms on the run's clock (`performance.now()` of the one process all contenders live in).
 * `end` is undefined while the hold is still open.
 */
export interface Hold {
  primitive: PrimitiveKind;
  contender: string;
  /** Node whose agent the contender talks to. */
  node: string;
  start: number;
  end: number | undefined;
  /** Fencing token of the hold (locks and elections). */
  token: bigint | undefined;
  /** Why it ended: `'released'`, `'lost'` or `'open'` (still held when the run ended). */
  how: 'released' | 'lost' | 'open';
}

/** The kinds of fault the nemesis injects. */
export type FaultKind =
  'kill-leader' | 'freeze-client' | 'freeze-holder' | 'restart-state-lost' | 'isolate' | 'delay-holder';

/** One injected fault, from its start to its repair. */
export interface FaultRecord {
  kind: FaultKind;
  node: string;
  start: number;
  end: number;
  detail: string;
}
