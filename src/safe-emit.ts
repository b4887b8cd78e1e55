/**
 * Emitting an event without letting a listener break the emitter. eventemitter3 stops at a
 * listener that throws and hands the throw to the emitter; inside a background loop (a
 * watch, a heartbeat, a session renewal) that would end the loop or surface as an unhandled
 * rejection. Every long-lived object of consulkit emits through {@link safeEmit}.
 *
 * @packageDocumentation
 */
import type { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';

/** Turns anything thrown into an `Error`, keeping a non-Error value as its `cause`. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value), { cause: value });
}

/**
 * Emits `event`; a listener that throws is logged at `error` (naming `what` and the event)
 * and reported on `error`. A throw from an `error` listener is only logged: reporting it to
 * itself could loop forever.
 *
 * @param what - the emitter in words, for the log line (`'balancer'`, `'config map'`)
 */
export function safeEmit<
  Events extends EventEmitter.ValidEventTypes,
  E extends EventEmitter.EventNames<Events>,
>(
  emitter: EventEmitter<Events>,
  logger: Logger,
  what: string,
  event: E,
  ...args: EventEmitter.EventArgs<Events, E>
): void {
  try {
    emitter.emit(event, ...args);
  } catch (thrown) {
    const error = asError(thrown);
    logger.error({ err: error, event }, `consulkit: a ${what} '${String(event)}' listener threw`);
    if (event !== 'error') {
      try {
        // Every emitter of consulkit has an `error` event (see the module comment).
        (emitter as unknown as EventEmitter<{ error: [Error] }>).emit('error', error);
      } catch (again) {
        logger.error({ err: asError(again), event: 'error' }, `consulkit: a ${what} 'error' listener threw`);
      }
    }
  }
}
