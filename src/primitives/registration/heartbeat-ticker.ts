/**
 * The heartbeat ticker of an active registration: a TTL heartbeat every interval (jittered),
 * an immediate re-registration when the agent forgot the service, quick retries while the
 * agent is away, and heartbeats on demand (`setStatus()`).
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import { ClosedError } from '../../errors.js';
import { backoffDelay, jitterBelow } from '../../timing/index.js';
import type { HealthEvaluator } from './health-evaluator.js';
import {
  isUnreachable,
  RETRY_BASE_MS,
  UNREACHABLE_RETRY_CAP_MS,
  type RegistrationCalls,
} from './registration-calls.js';
import type { RegisteredReason, ReportFailure } from './registration-types.js';

/** @internal How one heartbeat went, and when the next is due. */
export type TickOutcome = { ok: true; delayMs: number } | { ok: false; error: unknown; delayMs: number };

/** @internal What the ticker works with. */
export interface HeartbeatTickerParts {
  readonly calls: RegistrationCalls;
  readonly health: HealthEvaluator;
  readonly logger: Logger;
  readonly serviceId: string;
  readonly intervalMs: number;
  /** Whether the registration is still active (a tick that ends after stop() schedules nothing). */
  isActive(): boolean;
  readonly report: ReportFailure;
}

/** @internal The heartbeat loop of one registration. */
export class HeartbeatTicker {
  readonly #parts: HeartbeatTickerParts;
  #needsRegistration = false;
  #reregisterReason: RegisteredReason = 'agent-forgot';
  #unreachableSince: number | undefined;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<TickOutcome> | undefined;
  #waiters: ((outcome: TickOutcome) => void)[] = [];

  constructor(parts: HeartbeatTickerParts) {
    this.#parts = parts;
  }

  /** Schedules the first heartbeat of the loop, one jittered interval from now. */
  start(): void {
    this.#schedule(this.#nextDelay());
  }

  /** Runs a heartbeat now (or right after the running one) and resolves with its outcome. */
  kick(): Promise<TickOutcome> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      if (this.#tick === undefined) {
        clearTimeout(this.#timer);
        void this.#startTick();
      }
    });
  }

  /** Schedules nothing more. */
  halt(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Waits for the heartbeat in flight, then fails every `kick()` still waiting. */
  async settle(): Promise<void> {
    if (this.#tick) await this.#tick;
    this.#releaseWaiters();
  }

  #nextDelay(): number {
    return jitterBelow(this.#parts.intervalMs, 0.1);
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    // Unref'd: a registration alone does not keep the process alive (the server it announces does).
    this.#timer = setTimeout(() => this.#startTick(), delayMs);
    this.#timer.unref();
  }

  #startTick(): Promise<TickOutcome> {
    this.#timer = undefined;
    const waiters = this.#waiters.splice(0);
    const tick = this.#runTick().then((outcome) => {
      this.#tick = undefined;
      for (const resolve of waiters) resolve(outcome);
      if (this.#parts.isActive()) {
        // A setStatus() during this tick needs a heartbeat that carries it: run one now.
        if (this.#waiters.length > 0) void this.#startTick();
        else this.#schedule(outcome.delayMs);
      } else {
        this.#releaseWaiters();
      }
      return outcome;
    });
    this.#tick = tick;
    return tick;
  }

  #releaseWaiters(): void {
    const error = new ClosedError(`the registration of ${this.#parts.serviceId} was stopped`);
    for (const resolve of this.#waiters.splice(0)) resolve({ ok: false, error, delayMs: 0 });
  }

  /** One heartbeat, with an immediate re-registration when the agent forgot the service. Never rejects. */
  async #runTick(): Promise<TickOutcome> {
    const { calls, health, logger, serviceId } = this.#parts;
    for (let attempt = 0; ; attempt++) {
      const registering = this.#needsRegistration;
      try {
        const report = await health.evaluate();
        if (registering) {
          await calls.register(this.#reregisterReason, report.status);
          this.#needsRegistration = false;
        }
        await calls.heartbeat(report);
        if (this.#unreachableSince !== undefined) {
          logger.info(
            { serviceId, downMs: Date.now() - this.#unreachableSince },
            'consulkit: agent reachable again',
          );
        }
        this.#unreachableSince = undefined;
        this.#failures = 0;
        return { ok: true, delayMs: this.#nextDelay() };
      } catch (error) {
        if (!this.#parts.isActive()) return { ok: false, error, delayMs: 0 };
        if (attempt === 0 && !registering && (await this.#agentForgot(error))) {
          this.#needsRegistration = true;
          this.#reregisterReason = this.#unreachableSince === undefined ? 'agent-forgot' : 'agent-restarted';
          logger.info(
            { serviceId, reason: this.#reregisterReason },
            'consulkit: the agent no longer knows the service; registering again',
          );
          continue;
        }
        return this.#failed(error);
      }
    }
  }

  /** Whether the agent no longer has the service; a failed probe is reported and counts as no. */
  async #agentForgot(error: unknown): Promise<boolean> {
    try {
      return await this.#parts.calls.agentForgot(error);
    } catch (probeError) {
      if (this.#parts.isActive())
        this.#parts.report(probeError, 'could not ask the agent for the service', 'warn');
      return false;
    }
  }

  #failed(error: unknown): TickOutcome {
    this.#failures++;
    const unreachable = isUnreachable(error);
    if (unreachable) this.#unreachableSince ??= Date.now();
    // While the agent is away, poll it often so the instance is back as soon as it answers;
    // other refusals (ACL, a 5xx) are retried at the normal pace.
    const delayMs = unreachable
      ? backoffDelay(this.#failures, {
          initialMs: RETRY_BASE_MS,
          maxMs: Math.min(UNREACHABLE_RETRY_CAP_MS, this.#parts.intervalMs),
        })
      : this.#nextDelay();
    // The first failure of a run is a warning; the retries that follow (every second or so while
    // the agent is away) go to debug, and every one of them to the `error` event.
    this.#parts.report(
      error,
      this.#needsRegistration ? 're-registration failed' : 'heartbeat failed',
      this.#failures === 1 ? 'warn' : 'debug',
    );
    return { ok: false, error, delayMs };
  }
}
