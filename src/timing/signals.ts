/**
 * AbortSignal helpers: bounding a wait by a timeout, giving up on a promise when a signal
 * aborts, and letting a cleanup write outlive the signal that cancelled its operation.
 *
 * @packageDocumentation
 */
import { toMilliseconds, type Duration } from '../duration.js';
import { TimeoutError, ValidationError } from '../errors.js';

/** A signal that combines a caller's signal with an optional time bound, and its cleanup. */
export interface BoundedSignal {
  readonly signal: AbortSignal;
  /** Clears the timer; call when the bounded operation settles. */
  dispose(): void;
}

/**
 * Combines the caller's `signal` with a `timeout` (aborting with a {@link TimeoutError}
 * naming `what`) and any number of internal signals.
 *
 * @throws ValidationError for a malformed timeout or a signal that is not an AbortSignal
 */
export function boundedSignal(
  what: string,
  options: { signal?: AbortSignal | undefined; timeout?: Duration | undefined },
  ...internal: AbortSignal[]
): BoundedSignal {
  const { signal, timeout } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new ValidationError('signal', 'must be an AbortSignal');
  }
  const timeoutMs = timeout === undefined ? undefined : toMilliseconds(timeout, 'timeout');
  const signals = [...internal];
  if (signal !== undefined) signals.push(signal);
  let timer: BoundedSignal | undefined;
  if (timeoutMs !== undefined) {
    timer = timeoutSignal(
      timeoutMs,
      () => new TimeoutError(`${what} did not complete within ${timeoutMs} ms`, timeoutMs),
    );
    signals.push(timer.signal);
  }
  return {
    signal: signals.length === 1 ? (signals[0] as AbortSignal) : AbortSignal.any(signals),
    dispose: () => timer?.dispose(),
  };
}

/**
 * A signal that aborts with `reason()` after `ms` milliseconds. Unlike `AbortSignal.timeout`,
 * the reason is the caller's (a {@link TimeoutError} saying what timed out) and the timer is
 * cleared by `dispose()` rather than left to run.
 *
 * @param options.unref - let the process exit while only this timer is pending (for work
 *   that must not keep a process alive on its own, such as a registration's heartbeat)
 */
export function timeoutSignal(
  ms: number,
  reason: () => unknown,
  options: { unref?: boolean } = {},
): BoundedSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(reason()), ms);
  if (options.unref === true) timer.unref();
  return { signal: controller.signal, dispose: () => clearTimeout(timer) };
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts. The
 * promise itself is not cancelled; its eventual rejection is observed so that it never
 * becomes an unhandled rejection.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The caller has stopped waiting, so the outcome has no one to go to; observing it only
    // keeps a later rejection from being reported as unhandled.
    promise.then(ignoreAbandoned, ignoreAbandoned);
    return Promise.reject(signal.reason as unknown);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as unknown);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function ignoreAbandoned(): void {
  // See abortable(): an abandoned outcome.
}

/** An AbortController whose signal is already aborted with `reason`. */
export function abortedSignal(reason: unknown): AbortSignal {
  const controller = new AbortController();
  controller.abort(reason);
  return controller.signal;
}

/**
 * A signal for a write that must not be cut off the moment `signal` aborts: an aborted
 * request may still be applied by Consul, and only its answer says whether it was. It aborts
 * `graceMs` after `signal` does (bounding how long the cleanup waits for that answer), or as
 * soon as one of `also` aborts.
 */
export function graceSignal(signal: AbortSignal, graceMs: number, ...also: AbortSignal[]): BoundedSignal {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    timer = setTimeout(() => controller.abort(signal.reason as unknown), graceMs);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    signal: also.length === 0 ? controller.signal : AbortSignal.any([controller.signal, ...also]),
    dispose: () => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(timer);
    },
  };
}
