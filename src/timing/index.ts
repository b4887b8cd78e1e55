/**
 * Timing shared by every loop of consulkit: backoff with jitter, rate limiting, sleeps that a
 * signal cuts short, and AbortSignal helpers. One place, so the watch loop, the session
 * primitives, the registration ticker and the balancer wait in the same way.
 *
 * @packageDocumentation
 */
export { backoffDelay, backoffStep, jitterBelow, type BackoffPolicy } from './backoff.js';
export { rateLimitDelay } from './rate-limit.js';
export { delay, sleep } from './sleep.js';
export {
  abortable,
  abortedSignal,
  boundedSignal,
  graceSignal,
  timeoutSignal,
  type BoundedSignal,
} from './signals.js';
