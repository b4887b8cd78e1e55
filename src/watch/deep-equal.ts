/**
 * Structural equality of decoded Consul answers, so that a watch reports a `change` only when
 * the data changed and not merely the index (Consul's own watch plans compare results with
 * `reflect.DeepEqual` for the same reason).
 *
 * @packageDocumentation
 */

function bytesEqual(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Whether two values are structurally equal. Covers what decoded answers hold: primitives
 * (bigint by value, `NaN` equal to itself), `Buffer` and other typed arrays (by bytes),
 * arrays (by order), `Date`, `Map`, `Set` (by membership) and objects (by own enumerable
 * keys; a key set to `undefined` differs from a missing key). Values of different classes
 * are never equal, so a `Buffer` never equals an array of the same numbers. Cycles are not
 * supported: answers decoded from JSON have none.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    // 0 and -0 are the same number to any consumer of Consul data.
    return typeof a === 'number' && typeof b === 'number' && a === b;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a)) return bytesEqual(a, b as ArrayBufferView);
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], other[i])) return false;
    return true;
  }
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (a instanceof Map) {
    const other = b as Map<unknown, unknown>;
    if (a.size !== other.size) return false;
    for (const [key, value] of a) if (!other.has(key) || !deepEqual(value, other.get(key))) return false;
    return true;
  }
  if (a instanceof Set) {
    const other = b as Set<unknown>;
    if (a.size !== other.size) return false;
    for (const value of a) if (!other.has(value)) return false;
    return true;
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  const recordA = a as Record<string, unknown>;
  const recordB = b as Record<string, unknown>;
  for (const key of keysA) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) return false;
    if (!deepEqual(recordA[key], recordB[key])) return false;
  }
  return true;
}
