/**
 * Input checks shared by the api modules. Each throws {@link ValidationError} before any
 * request is sent.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../errors.js';

/** Largest uint64. */
export const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

/** Requires a non-empty string. */
export function requireName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(field, 'is required and must be a non-empty string');
  }
  return value;
}

/** Encodes each `/`-separated segment of a path value, keeping the separators. */
const URL_SAFE_PATH = /^[A-Za-z0-9\-_.~/]*$/;

export function encodePath(value: string): string {
  // Most keys need no escaping; skip the split/encode/join on the hot path.
  if (URL_SAFE_PATH.test(value)) return value;
  return value.split('/').map(encodeURIComponent).join('/');
}

/** Requires a path segment (an id or a name) that contains no `/`, and encodes it. */
export function segment(field: string, value: unknown): string {
  const name = requireName(field, value);
  if (name.includes('/')) throw new ValidationError(field, `'${name}' must not contain '/'`);
  // Go's router cleans '.' and '..' out of request paths and answers 301.
  if (name === '.' || name === '..') throw new ValidationError(field, `'${name}' is not a valid name`);
  return encodeURIComponent(name);
}

/** Converts a uint64 given as bigint, safe integer or decimal string; rejects anything else. */
export function uint64(field: string, value: bigint | number | string): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new ValidationError(field, `${value} is not exact as a JS number; pass a bigint`);
  }
  let result: bigint;
  try {
    result = BigInt(value);
  } catch {
    throw new ValidationError(field, `'${String(value)}' is not an integer`);
  }
  if (result < 0n || result > UINT64_MAX)
    throw new ValidationError(field, `${result} is outside the uint64 range`);
  return result;
}

/**
 * Refuses a per-call `datacenter` on a write that Consul 1.8.7 applies in the agent's own
 * datacenter whatever `?dc=` says (checked against the agent for ACL and config entry
 * writes), so the option cannot be silently ignored. Returns the options unchanged.
 *
 * @param what - the writes concerned, for the message
 */
export function localOnly<T extends { datacenter?: string }>(options: T, what: string): T {
  if (options.datacenter !== undefined) {
    throw new ValidationError(
      'datacenter',
      `Consul applies ${what} in the agent's own datacenter and ignores this option; send the write through an agent of that datacenter`,
    );
  }
  return options;
}
