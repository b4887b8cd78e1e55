/**
 * The KV flags and key names of Consul's own lock and semaphore (Go `api.Lock`,
 * `api.Semaphore`, and so `consul lock`), which consulkit uses unchanged so that both
 * exclude each other.
 *
 * @packageDocumentation
 */

/** Flags of a lock key: Go api's `LockFlagValue`, 0x2ddccbc058a50c18. */
export const LOCK_FLAGS = 0x2ddccbc058a50c18n;

/** Flags of semaphore keys: Go api's `SemaphoreFlagValue`, 0xe0f69a2baa414de0. */
export const SEMAPHORE_FLAGS = 0xe0f69a2baa414de0n;

/** Name of the semaphore's coordination key under its prefix, and of `consul lock`'s lock key. */
export const COORDINATION_KEY = '.lock';

/** Names a flags value for error messages. */
export function describeFlags(flags: bigint): string {
  if (flags === LOCK_FLAGS) return 'a lock (flags 0x2ddccbc058a50c18)';
  if (flags === SEMAPHORE_FLAGS) return 'a semaphore (flags 0xe0f69a2baa414de0)';
  return `something else (flags ${flags === 0n ? '0' : `0x${flags.toString(16)}`})`;
}
