/**
 * The retry policy of `lb.request()`, apart from sending (like undici's retry handler): each
 * attempt goes to an instance the call has not tried yet; what failed decides whether another
 * attempt may follow; every outcome is reported to outlier detection.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import { BalancerNoInstanceError, BalancerRequestError, ClosedError, TimeoutError } from '../../errors.js';
import {
  classifyFailure,
  describeError,
  type AttemptFailure,
  type BalancerResponse,
  type InstanceAnswer,
  type InstanceHttpClient,
} from './balancer-http.js';
import { UNDICI_TIMEOUT_MS, type ResolvedRequest } from './balancer-options.js';
import type { BalancerInstance, BalancerMember } from './balancer-members.js';

/** Methods whose requests may be sent twice: a 5xx or a broken connection is retried elsewhere. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** What the retry loop needs from the balancer. */
export interface RetryTarget {
  readonly service: string;
  /** The service in words, for messages. */
  readonly description: string;
  readonly logger: Logger;
  readonly http: InstanceHttpClient;
  /** Aborted when the balancer closes. */
  readonly closed: AbortSignal;
  /** Picks an instance this call has not tried. */
  pick(tried: ReadonlySet<string>): BalancerMember | undefined;
  /** Whether some instance in rotation was not tried yet. */
  hasUntried(tried: ReadonlySet<string>): boolean;
  /** Counts a request outstanding on an instance (for `'p2c'`) until `end`. */
  begin(key: string): void;
  end(key: string): void;
  /** Reports a failed attempt (or a 5xx) to outlier detection. */
  recordFailure(member: BalancerMember, reason: string): void;
  /** Reports an answer that is not a failure. */
  recordSuccess(member: BalancerMember): void;
  /** Reports how one attempt ended, whatever it was (for the `attempt` event). */
  reportAttempt(member: BalancerMember, outcome: BalancerAttemptOutcome, attempt: number): void;
}

/**
 * How one attempt on an instance ended: `ok` (an answer below 500), `5xx`, or the kind of
 * failure (`timeout`, `connection`, `not-sent`, `other`) when no answer came.
 */
export type BalancerAttemptOutcome = 'ok' | '5xx' | AttemptFailure;

/** One call: the validated request, its path, and the signal that ends it (the caller's and the balancer's). */
export interface RetriedRequest extends ResolvedRequest {
  readonly path: string;
  /** The caller's signal and the balancer's close, combined. */
  readonly combined: AbortSignal;
}

/**
 * Sends `request` with retries; see `Balancer.request` for the policy.
 *
 * @throws BalancerNoInstanceError, BalancerRequestError, TimeoutError, ClosedError, the
 *   caller's abort reason
 */
export async function sendWithRetries(
  target: RetryTarget,
  request: RetriedRequest,
): Promise<BalancerResponse> {
  const { method, path, headers, body, maxAttempts, timeoutMs, signal: callerSignal, combined } = request;
  // The query string may carry user data: messages and logs name the path only.
  const route = path.split('?')[0] ?? path;
  const idempotent = IDEMPOTENT_METHODS.has(method);
  const tried = new Set<string>();
  let lastFailure: { error: unknown; instance: BalancerInstance } | undefined;

  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    const member = target.pick(tried);
    if (member === undefined) break;
    tried.add(member.key);
    const { instance } = member;
    let answer: InstanceAnswer;
    target.begin(member.key);
    try {
      answer = await target.http.send(instance, { method, path, headers, body, timeoutMs, signal: combined });
    } catch (error) {
      if (target.closed.aborted) throw new ClosedError('the balancer was closed');
      if (callerSignal?.aborted) throw callerSignal.reason;
      const failure = classifyFailure(error);
      target.reportAttempt(member, failure, attempt);
      const origin = target.http.originOf(instance);
      // Only failures of the instance or the path to it count; a request undici refuses to
      // send or a certificate this client cannot verify would eject healthy instances.
      if (failure !== 'other') target.recordFailure(member, describeError(error));
      if (failure === 'timeout') {
        throw new TimeoutError(
          `${target.description}: instance ${instance.id} at ${origin} sent no response headers within ${timeoutMs ?? UNDICI_TIMEOUT_MS} ms`,
          timeoutMs ?? UNDICI_TIMEOUT_MS,
          { cause: error },
        );
      }
      lastFailure = { error, instance };
      const retryable = failure === 'not-sent' || (failure === 'connection' && idempotent);
      target.logger.debug(
        { err: error, instance: instance.id, origin, attempt, retryable },
        'consulkit: a balanced request failed',
      );
      if (!retryable) {
        throw new BalancerRequestError(
          target.service,
          attempt,
          `${target.description}: ${method} ${route} to instance ${instance.id} at ${origin} failed: ${describeError(error)}`,
          { cause: error },
        );
      }
      continue;
    } finally {
      target.end(member.key);
    }
    if (answer.status >= 500) target.recordFailure(member, `HTTP ${answer.status}`);
    else target.recordSuccess(member);
    target.reportAttempt(member, answer.status >= 500 ? '5xx' : 'ok', attempt);
    if (answer.status >= 500 && idempotent && attempt < maxAttempts && target.hasUntried(tried)) {
      // Should the next pick find nothing after all (another call ejected the last untried
      // instance meanwhile), the call fails naming this answer.
      lastFailure = {
        error: new Error(`answered HTTP ${answer.status} ${answer.statusText}`.trim()),
        instance,
      };
      target.logger.debug(
        { instance: instance.id, status: answer.status, attempt },
        'consulkit: a balanced request got a 5xx; retrying on another instance',
      );
      await target.http
        .discard(answer)
        .catch((error: unknown) =>
          target.logger.debug(
            { err: error },
            'consulkit: dropping a 5xx response body failed; its connection is closed',
          ),
        );
      continue;
    }
    return target.http.respond(answer, instance, attempt);
  }

  if (lastFailure !== undefined) {
    throw new BalancerRequestError(
      target.service,
      tried.size,
      `${target.description}: ${method} ${route} failed on ${tried.size} instance(s); the last, ${lastFailure.instance.id} at ${target.http.originOf(lastFailure.instance)}: ${describeError(lastFailure.error)}`,
      { cause: lastFailure.error },
    );
  }
  throw new BalancerNoInstanceError(target.service, `${target.description}: no instance is available`);
}
