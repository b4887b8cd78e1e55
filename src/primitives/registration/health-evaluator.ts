/**
 * What a registration's heartbeats report: a status set by `setStatus()`, else the user's
 * `health()` bounded by `healthTimeout`, else passing.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import { TimeoutError } from '../../errors.js';
import { abortable, timeoutSignal } from '../../timing/index.js';
import {
  normalizeHealthReport,
  truncateNote,
  type CheckStatus,
  type HealthFunction,
} from './registration-options.js';
import type { HeartbeatEvent } from './registration-types.js';

/** @internal The status source of one registration. */
export class HealthEvaluator {
  /** Set by `setStatus()`: wins over `health()` until cleared. */
  override: { status: CheckStatus; note: string } | undefined;
  readonly #health: HealthFunction | undefined;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #serviceId: string;
  #failing = false;

  constructor(health: HealthFunction | undefined, timeoutMs: number, logger: Logger, serviceId: string) {
    this.#health = health;
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
    this.#serviceId = serviceId;
  }

  /** The status to send: the override, else `health()` bounded by healthTimeout, else passing. */
  async evaluate(): Promise<HeartbeatEvent> {
    if (this.override) return { ...this.override, source: 'override' };
    const health = this.#health;
    if (!health) return { status: 'passing', note: '', source: 'default' };
    const timeoutMs = this.#timeoutMs;
    // Unref'd like the ticker: a registration alone does not keep the process alive.
    const timeout = timeoutSignal(
      timeoutMs,
      () => new TimeoutError(`health() did not answer within ${timeoutMs} ms`, timeoutMs),
      { unref: true },
    );
    try {
      const report = await abortable(
        Promise.resolve().then(() => health(timeout.signal)),
        timeout.signal,
      );
      this.#failing = false;
      return { ...normalizeHealthReport(report), source: 'health' };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // Warn when health() starts failing; while it keeps failing, every heartbeat says so anyway.
      this.#logger[this.#failing ? 'debug' : 'warn'](
        { err: error, serviceId: this.#serviceId },
        'consulkit: health() failed; reporting critical',
      );
      this.#failing = true;
      return { status: 'critical', note: truncateNote(`health() failed: ${message}`), source: 'health' };
    } finally {
      timeout.dispose();
    }
  }
}
