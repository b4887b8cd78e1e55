/**
 * The service and check IDs the registrations of this process hold on each agent. Two
 * registrations with the same service ID (or the same check ID) on one agent would overwrite
 * each other's definition: the agent keeps one, the other's heartbeats then update a check
 * that is not theirs or meet "unknown check", re-register, and the two fight for good. A
 * second registration of an ID already held is therefore refused at `registerService` time,
 * and the ID is free again once the first registration has stopped (after it deregistered).
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../errors.js';

/** Holder of each claimed ID, by agent then by `service:<id>` or `check:<id>`. */
const held = new Map<string, Map<string, string>>();

/** What a registration claims on one agent. */
export interface RegistrationIds {
  /** Which agent: its address as the client resolved it (origin, plus socket path for unix://). */
  readonly agent: string;
  /** The service ID. */
  readonly serviceId: string;
  /** Every explicit check ID of the definition (the TTL check's included). */
  readonly checkIds: readonly string[];
}

/**
 * Claims a registration's IDs on its agent for this process.
 *
 * @returns a function that frees them (idempotent)
 * @throws ValidationError when another registration of this process holds the service ID or
 *   one of the check IDs on the same agent, or the definition names one check ID twice
 */
export function claimRegistrationIds(ids: RegistrationIds): () => void {
  const keys = [`service:${ids.serviceId}`, ...ids.checkIds.map((id) => `check:${id}`)];
  if (new Set(keys).size !== keys.length)
    throw new ValidationError('checks', `the registration of '${ids.serviceId}' names a check ID twice`);
  const claims = held.get(ids.agent) ?? new Map<string, string>();
  for (const key of keys) {
    const holder = claims.get(key);
    if (holder === undefined) continue;
    const [kind, id] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    throw new ValidationError(
      kind === 'service' ? 'id' : 'checks',
      `${kind} ID '${id}' is already registered by this process (service '${holder}') on ${ids.agent}; ` +
        'stop that registration first, or choose another ID',
    );
  }
  for (const key of keys) claims.set(key, ids.serviceId);
  held.set(ids.agent, claims);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const key of keys) claims.delete(key);
    if (claims.size === 0 && held.get(ids.agent) === claims) held.delete(ids.agent);
  };
}
