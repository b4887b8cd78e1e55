/**
 * The start of a registration: register and send the first heartbeat, waiting for an agent
 * that cannot be reached yet (a process may start before its local agent).
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import { TimeoutError } from '../../errors.js';
import { backoffDelay, sleep } from '../../timing/index.js';
import type { HealthEvaluator } from './health-evaluator.js';
import {
  isUnreachable,
  RETRY_BASE_MS,
  UNREACHABLE_RETRY_CAP_MS,
  type RegistrationCalls,
} from './registration-calls.js';

/** While registerService waits for an unreachable agent, it warns this often. */
const START_WAIT_WARN_EVERY_MS = 30_000;

/** @internal What the start loop works with. */
export interface FirstRegistrationParts {
  readonly calls: RegistrationCalls;
  readonly health: HealthEvaluator;
  readonly logger: Logger;
  readonly serviceId: string;
  /** Longest wait for an unreachable agent; undefined: no limit. */
  readonly startTimeoutMs: number | undefined;
  /** Aborted by stop(): a start waiting for its agent gives up at once. */
  readonly stopRequested: AbortSignal;
  /** Throws the ClosedError of a registration stopped before it completed. */
  throwIfStopping(): void;
}

/**
 * Registers and sends the first heartbeat. While the agent cannot be reached at all it
 * keeps trying, for at most `startTimeout`; anything the agent answers that is not a success
 * fails at once.
 *
 * @internal
 */
export async function firstRegistration(parts: FirstRegistrationParts): Promise<void> {
  const { calls, startTimeoutMs: limitMs } = parts;
  // The deadline cuts a call in flight too (its transport retries included): without it the
  // start gave up only between attempts, up to one attempt after startTimeout.
  // A timer of our own, not AbortSignal.timeout: it is cleared the moment the start ends, so
  // a long startTimeout leaves no timer behind a registration (or a client) already closed.
  const deadline = limitMs === undefined ? undefined : new AbortController();
  const timer =
    deadline === undefined
      ? undefined
      : setTimeout(() => deadline.abort(new DOMException('startTimeout ran out', 'TimeoutError')), limitMs);
  calls.boundStart(deadline?.signal);
  try {
    await attemptUntilRegistered(parts, deadline?.signal);
  } finally {
    clearTimeout(timer);
    calls.boundStart(undefined);
  }
}

async function attemptUntilRegistered(
  parts: FirstRegistrationParts,
  deadline: AbortSignal | undefined,
): Promise<void> {
  const { calls, health, logger, serviceId, startTimeoutMs: limitMs } = parts;
  const started = performance.now();
  let lastWarned = started;
  let lastUnreachable: unknown;
  // `cause` is the last failure of an agent that could not be reached, or, when the deadline
  // cut the very first attempt (its transport retries outlasting startTimeout), the cut.
  const giveUp = (cause: unknown): TimeoutError =>
    new TimeoutError(
      `the agent could not be reached within ${limitMs} ms to register ${serviceId}: ${cause === deadline?.reason ? 'no answer in that time' : cause instanceof Error ? cause.message : String(cause)}`,
      limitMs ?? 0,
      { cause },
    );
  const waitSignal =
    deadline === undefined ? parts.stopRequested : AbortSignal.any([parts.stopRequested, deadline]);
  for (let failures = 0; ;) {
    try {
      const report = await health.evaluate();
      parts.throwIfStopping();
      await calls.register('initial', report.status);
      parts.throwIfStopping();
      await calls.heartbeat(report);
      if (failures > 0) {
        logger.info(
          { serviceId, waitedMs: Math.round(performance.now() - started), attempts: failures + 1 },
          'consulkit: the agent answered; service registered',
        );
      }
      return;
    } catch (error) {
      if (parts.stopRequested.aborted) throw error;
      // Cut by the deadline: the failure that explains it is the last unreachable agent
      // (or, on the first attempt, the cut itself).
      if (deadline?.aborted) throw giveUp(lastUnreachable ?? error);
      if (!isUnreachable(error)) throw error;
      lastUnreachable = error;
      failures++;
      const now = performance.now();
      const delayMs = backoffDelay(failures, { initialMs: RETRY_BASE_MS, maxMs: UNREACHABLE_RETRY_CAP_MS });
      if (limitMs !== undefined && now + delayMs - started >= limitMs) throw giveUp(error);
      const warn = failures === 1 || now - lastWarned >= START_WAIT_WARN_EVERY_MS;
      if (warn) lastWarned = now;
      logger[warn ? 'warn' : 'debug'](
        { err: error, serviceId, waitedMs: Math.round(now - started), attempts: failures },
        'consulkit: the agent cannot be reached; registerService keeps trying',
      );
      // Waits less if stop() is called meanwhile.
      await sleep(delayMs, waitSignal);
      parts.throwIfStopping();
      if (deadline?.aborted) throw giveUp(error);
    }
  }
}
