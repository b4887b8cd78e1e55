/**
 * Passive outlier detection for the balancer: an instance whose calls keep failing is taken
 * out of rotation for a while, even though Consul still lists it as passing.
 *
 * Consul's checks run every few seconds (or every TTL), so between a crash and the check
 * turning critical, plus the watch delivering the change, calls would keep landing on a dead
 * instance. Counting the balancer's own failures closes that gap. The rules follow the
 * usual proxy design (consecutive failures, a fixed ejection time, a cap on how much of the
 * service may be ejected) so that a bad network moment cannot empty the rotation.
 *
 * Time is passed in by the caller (milliseconds on a monotonic clock), so nothing here holds
 * a timer: an ejection simply ends when a later pick looks at it.
 *
 * @packageDocumentation
 */
import { toMilliseconds, type Duration } from '../../duration.js';
import { ValidationError } from '../../errors.js';

/** Settings of passive outlier detection; see {@link BalancerOptions.outlierDetection}. */
export interface OutlierDetectionOptions {
  /**
   * Failures in a row that eject an instance: connections that could not be made or broke,
   * attempts without response headers in time (a short per-call `timeout` on a slow
   * endpoint counts too), and 5xx answers. Any other answer resets the count. Failures that
   * are not the instance's doing (a request undici refuses to send, a certificate this
   * client cannot verify, an aborted call) do not count. Default 5.
   */
  consecutiveFailures?: number;
  /** How long an ejected instance stays out of rotation. Default 30 s. */
  ejectionTime?: Duration;
  /**
   * Most instances ejected at once, as a percentage of the instances Consul lists that can
   * be picked (weight above 0 under `'weighted'`): more than 0, at most 100, rounded down but
   * at least one, and always one fewer than all of them, so a single instance is never
   * ejected. Should the listed instances shrink until only ejected ones remain, they are all
   * used again rather than none. Default 50.
   */
  maxEjectedPercent?: number;
}

/** Validated settings, in milliseconds. */
export interface OutlierSettings {
  readonly consecutiveFailures: number;
  readonly ejectionTimeMs: number;
  readonly maxEjectedPercent: number;
}

const DEFAULTS: OutlierSettings = { consecutiveFailures: 5, ejectionTimeMs: 30_000, maxEjectedPercent: 50 };

/**
 * Validates the option; `undefined` means the defaults, `false` turns detection off.
 *
 * @throws ValidationError for a value out of range
 */
export function resolveOutlierSettings(
  option: OutlierDetectionOptions | false | undefined,
): OutlierSettings | undefined {
  if (option === false) return undefined;
  if (option === undefined) return DEFAULTS;
  if (option === null || typeof option !== 'object')
    throw new ValidationError('outlierDetection', 'must be an object or false');
  const {
    consecutiveFailures = DEFAULTS.consecutiveFailures,
    maxEjectedPercent = DEFAULTS.maxEjectedPercent,
  } = option;
  if (!Number.isInteger(consecutiveFailures) || consecutiveFailures < 1 || consecutiveFailures > 1000)
    throw new ValidationError(
      'outlierDetection.consecutiveFailures',
      `must be an integer from 1 to 1000, not ${String(consecutiveFailures)}`,
    );
  if (typeof maxEjectedPercent !== 'number' || !(maxEjectedPercent > 0 && maxEjectedPercent <= 100))
    throw new ValidationError(
      'outlierDetection.maxEjectedPercent',
      `must be a number above 0 and at most 100 (false turns detection off), not ${String(maxEjectedPercent)}`,
    );
  const ejectionTimeMs =
    option.ejectionTime === undefined
      ? DEFAULTS.ejectionTimeMs
      : toMilliseconds(option.ejectionTime, 'outlierDetection.ejectionTime');
  if (ejectionTimeMs <= 0)
    throw new ValidationError('outlierDetection.ejectionTime', 'must be greater than zero');
  return { consecutiveFailures, ejectionTimeMs, maxEjectedPercent };
}

const NONE: readonly string[] = Object.freeze([]);

/** What {@link OutlierDetector.recordFailure} decided. */
export type FailureVerdict =
  /** Below the threshold, or the cap on ejections was reached: the instance stays. */
  | { readonly ejected: false; readonly failures: number }
  /** The instance is out of rotation until `until` (same clock as `now`). */
  | { readonly ejected: true; readonly failures: number; readonly until: number };

/** Per-instance failure counts and ejections, keyed by the balancer's member key. */
export class OutlierDetector {
  readonly #settings: OutlierSettings;
  readonly #failures = new Map<string, number>();
  /** Member key → end of its ejection. */
  readonly #ejectedUntil = new Map<string, number>();

  constructor(settings: OutlierSettings) {
    this.#settings = settings;
  }

  /**
   * Counts a failed attempt on `key`; ejects it at the threshold when the cap allows.
   *
   * @param inRotation - how many instances Consul lists now that can be picked
   */
  recordFailure(key: string, inRotation: number, now: number): FailureVerdict {
    // Calls that were already running when the instance was ejected fail too; they must not
    // count towards the next ejection, which needs a full new run once it is back.
    if (this.isEjected(key, now)) return { ejected: false, failures: 0 };
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    if (failures < this.#settings.consecutiveFailures) return { ejected: false, failures };
    if (this.ejectedCount(now) >= this.#maxEjected(inRotation)) return { ejected: false, failures };
    const until = now + this.#settings.ejectionTimeMs;
    this.#ejectedUntil.set(key, until);
    // A readmitted instance starts from zero: one more failure must not eject it again.
    this.#failures.delete(key);
    return { ejected: true, failures, until };
  }

  /** Counts an answer that is not a failure: the run of failures on `key` ends. */
  recordSuccess(key: string): void {
    this.#failures.delete(key);
  }

  /** Whether `key` is ejected at `now`; an ejection that has run out is forgotten here. */
  isEjected(key: string, now: number): boolean {
    const until = this.#ejectedUntil.get(key);
    if (until === undefined) return false;
    if (now < until) return true;
    this.#ejectedUntil.delete(key);
    this.#failures.delete(key);
    return false;
  }

  /** Keys ejected at `now`. */
  ejectedKeys(now: number): readonly string[] {
    // Checked on every pick: the common case, nothing ejected, allocates nothing.
    if (this.#ejectedUntil.size === 0) return NONE;
    return [...this.#ejectedUntil.keys()].filter((key) => this.isEjected(key, now));
  }

  /** How many instances are ejected at `now`. */
  ejectedCount(now: number): number {
    return this.ejectedKeys(now).length;
  }

  /** Forgets one instance's failures and ejection (it moved to a new address or port). */
  forget(key: string): void {
    this.#failures.delete(key);
    this.#ejectedUntil.delete(key);
  }

  /** Forgets instances that left the rotation, so a returning one starts clean. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.#failures.keys()) if (!keys.has(key)) this.#failures.delete(key);
    for (const key of this.#ejectedUntil.keys()) if (!keys.has(key)) this.#ejectedUntil.delete(key);
  }

  #maxEjected(inRotation: number): number {
    if (inRotation <= 1) return 0;
    const byPercent = Math.floor((inRotation * this.#settings.maxEjectedPercent) / 100);
    return Math.min(inRotation - 1, Math.max(1, byPercent));
  }
}

/**
 * The members a pick may choose from: Consul's list minus the ejected ones; all of Consul's
 * list when that would leave none that can be picked (the list shrank while some were
 * ejected), since a stale ejection must never empty the rotation.
 *
 * @param pickable - whether the strategy could ever pick a member (weight 0 is out under `'weighted'`)
 */
export function membersInRotation<M extends { readonly key: string }>(
  members: readonly M[],
  ejected: readonly string[],
  pickable: (member: M) => boolean,
): readonly M[] {
  if (ejected.length === 0) return members;
  const skip = new Set(ejected);
  const kept = members.filter((member) => !skip.has(member.key));
  return kept.some(pickable) ? kept : members;
}
