/**
 * Observers that report the primitives through their public events: a lock's `acquired`,
 * `lost` and `released`, an election's `elected` and `revoked`, a registration's
 * `registered`, `heartbeat` and `error`, a balancer's `ejected`. The client attaches one to
 * each primitive it creates, so the primitives need no knowledge of metrics, spans or
 * channels for these events.
 *
 * @packageDocumentation
 */
import type { PickableSource, Telemetry } from './telemetry.js';

/** A lock or a semaphore, as far as its observer needs it. */
export interface ObservedHeld {
  on(event: 'acquired', listener: (fencingToken: bigint) => void): unknown;
  on(event: 'lost', listener: (error: Error) => void): unknown;
  on(event: 'released', listener: () => void): unknown;
}

/** An election, as far as its observer needs it. */
export interface ObservedElection {
  readonly key: string;
  on(event: 'elected', listener: (fencingToken: bigint) => void): unknown;
  on(event: 'revoked', listener: (error: Error | undefined) => void): unknown;
}

/** A service registration, as far as its observer needs it. */
export interface ObservedRegistration {
  /** The service instance ID. */
  readonly id: string;
  /** False once `stop()` began: its heartbeat age is no longer reported, even if deregistering fails. */
  readonly active: boolean;
  on(event: 'registered', listener: (event: { reason: string; serviceId: string }) => void): unknown;
  on(event: 'heartbeat', listener: () => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'deregistered', listener: () => void): unknown;
}

/** A balancer, as far as its observer needs it. */
export interface ObservedBalancer extends PickableSource {
  readonly service: string;
  on(event: 'ejected', listener: (ejection: { instance: { id: string } }) => void): unknown;
  on(event: 'attempt', listener: (attempt: { instance: { id: string }; outcome: string }) => void): unknown;
}

/** Reports a lock or semaphore on `key` (a semaphore's prefix). Returns it. */
export function observeHeld<T extends ObservedHeld>(
  telemetry: Telemetry,
  held: T,
  kind: 'lock' | 'semaphore',
  key: string,
): T {
  held.on('acquired', (fencingToken) => telemetry.lockAcquired(held, kind, key, fencingToken));
  held.on('released', () => telemetry.lockEnded(held));
  held.on('lost', (error) => telemetry.lockEnded(held, error));
  return held;
}

/** Reports an election's terms. Returns it. */
export function observeElection<T extends ObservedElection>(telemetry: Telemetry, election: T): T {
  election.on('elected', (fencingToken) => telemetry.elected(election, election.key, fencingToken));
  election.on('revoked', (error) => telemetry.revoked(election, error));
  return election;
}

/**
 * Reports a registration that has just been made: its initial registration (emitted before
 * anyone could listen) is reported here, later ones through its events. Returns it.
 */
export function observeRegistration<T extends ObservedRegistration>(
  telemetry: Telemetry,
  registration: T,
): T {
  telemetry.registered(registration, registration.id, 'initial');
  registration.on('registered', ({ reason, serviceId }) =>
    telemetry.registered(registration, serviceId, reason),
  );
  registration.on('heartbeat', () => telemetry.heartbeat(registration));
  registration.on('error', (error) => telemetry.registrationFailed(registration, error));
  registration.on('deregistered', () => telemetry.deregistered(registration));
  return registration;
}

/** Reports a balancer's calls per instance and outcome, its ejections and pickable instances. Returns it. */
export function observeBalancer<T extends ObservedBalancer>(telemetry: Telemetry, balancer: T): T {
  balancer.on('attempt', ({ instance, outcome }) =>
    telemetry.balancerCall(balancer.service, instance.id, outcome),
  );
  balancer.on('ejected', ({ instance }) => telemetry.balancerEjected(balancer.service, instance.id));
  telemetry.observeBalancer(balancer.service, balancer);
  return balancer;
}
