/**
 * What this process holds and runs, as the observability hooks see it: held locks, slots and
 * leaderships, registrations and their last heartbeat, watch loops that are failing. It feeds
 * `consul.healthReport()` and the observable gauges; it never sends anything.
 *
 * @packageDocumentation
 */

/** A lock, semaphore slot or leadership this process holds. */
export interface HeldRecord {
  readonly kind: 'lock' | 'semaphore' | 'election';
  readonly key: string;
  readonly fencingToken: bigint;
  /** `performance.now()` when it was acquired. */
  readonly since: number;
}

/** A service registration of this process. */
export interface RegistrationRecord {
  readonly serviceId: string;
  /** `performance.now()` of the last heartbeat the agent accepted (or the registration). */
  lastGoodAt: number;
  /** Wall-clock time of the same moment, for reports. */
  lastGoodDate: Date;
  /** Failures since the last good heartbeat. */
  failuresInARow: number;
  lastError: unknown;
}

/** A watch loop whose reads fail. */
export interface FailingWatchRecord {
  readonly query: string;
  readonly kind: string;
  /** `performance.now()` of the first failure of this streak. */
  readonly since: number;
  failures: number;
  lastError: Error;
}

/** What owns a registration record: a `ServiceRegistration`, as far as the state needs it. */
export interface RegistrationOwner {
  /** False once stopping began; a registration without this property counts as active. */
  readonly active?: boolean;
}

/**
 * The tracked state. Entries are keyed by the object that owns them (a lock, a registration,
 * a loop's description), so two locks on one key stay two entries.
 */
export class TrackedState {
  readonly held = new Map<object, HeldRecord>();
  readonly registrations = new Map<RegistrationOwner, RegistrationRecord>();
  readonly failingWatches = new Map<string, FailingWatchRecord>();

  /**
   * The registrations still active. One whose `stop()` began is dropped here even when its
   * `deregistered` event never comes (a failed deregistration emits none): it sends no more
   * heartbeats, so its heartbeat age would only grow and keep being reported for ever.
   */
  liveRegistrations(): RegistrationRecord[] {
    const live: RegistrationRecord[] = [];
    for (const [owner, record] of this.registrations) {
      if (owner.active === false) this.registrations.delete(owner);
      else live.push(record);
    }
    return live;
  }
}
