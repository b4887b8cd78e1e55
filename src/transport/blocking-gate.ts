/**
 * The seam through which the transport lets blocking reads take turns: before it sends a
 * blocking read it asks the gate for a turn, sends the read with the wait the turn grants,
 * and gives the turn back when the read ends. The client wires the watch engine's slot
 * scheduler as the gate, so a user's own `kv.get(key, { index, wait })` shares the blocking
 * connections fairly with the watches instead of holding one for its whole wait.
 *
 * @packageDocumentation
 */

/** A turn granted to one blocking read. */
export interface BlockingTurn {
  /** The longest wait the read may send (never above the one asked for). */
  readonly waitMs: number;
  /** Aborted when the gate takes the turn back for a waiting read (the read is re-sent on a later turn). */
  readonly signal: AbortSignal;
  /**
   * The signal to send the read with: aborted by `other` or by the turn's own signal. Reads
   * sent with it are known to the gate as in this turn ({@link BlockingGate.holdsTurn}).
   */
  signalFor(other: AbortSignal | undefined): AbortSignal;
  /** Gives the turn back; idempotent. */
  release(): void;
}

/** What the transport asks before sending a blocking read. */
export interface BlockingGate {
  /** Whether a read sent with `signal` already runs in a turn (a watch's own read). */
  holdsTurn(signal: AbortSignal | undefined): boolean;
  /**
   * Resolves with a turn once the read may run. If `signal` aborts first, rejects with its
   * reason and holds nothing.
   */
  acquire(maxWaitMs: number, signal: AbortSignal | undefined): Promise<BlockingTurn>;
}
