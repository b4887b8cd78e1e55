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

/** Whether a listener returned a promise (or any thenable) whose rejection must be caught. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Logs a listener failure at `error`, in the one wording every emitter of consulkit uses.
 *
 * @param what - the emitter in words (`'watch'`, `'balancer'`)
 * @param fields - more fields for the log line (a watch names its query)
 */
export function logListenerFailure(
  logger: Logger,
  what: string,
  event: string | symbol,
  error: Error,
  fields: Record<string, unknown> = {},
): void {
  logger.error({ ...fields, err: error, event }, `consulkit: a ${what} '${String(event)}' listener threw`);
}

/**
 * Calls one listener and hands what it throws, or the rejection of a promise it returns, to
 * `onFailure` as an `Error`. For emitters that call each listener themselves (a watch), so
 * that one failing listener neither stops the others nor leaves an unhandled rejection;
 * `emitter.emit` drops what a listener returns, so {@link safeEmit} cannot see a rejection.
 */
export function callListener(call: () => unknown, onFailure: (error: Error) => void): void {
  try {
    const result = call();
    if (isThenable(result)) result.then(undefined, (rejection: unknown) => onFailure(asError(rejection)));
  } catch (thrown) {
    onFailure(asError(thrown));
  }
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
    logListenerFailure(logger, what, event, error);
    if (event !== 'error') {
      try {
        // Every emitter of consulkit has an `error` event (see the module comment).
        (emitter as unknown as EventEmitter<{ error: [Error] }>).emit('error', error);
      } catch (again) {
        logListenerFailure(logger, what, 'error', asError(again));
      }
    }
  }
}
