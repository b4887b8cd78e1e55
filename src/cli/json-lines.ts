/**
 * JSON for the CLI's output, in Consul's wire shapes: uint64 fields (bigint here) as exact
 * JSON integers, as Consul itself prints them, and byte values (KV `Value`) as base64.
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto';

// A random marker per process: data cannot forge it, so only our placeholders are unquoted.
const MARK = `uint64-${randomBytes(16).toString('hex')}:`;
const MARKED = new RegExp(`"${MARK}(\\d+)"`, 'g');

/**
 * One line of JSON (no newline inside), with bigints as exact integers and Buffers as base64.
 *
 * @example
 * ```ts
 * toJson({ Flags: 3304740253564472344n, Value: Buffer.from('hi') });
 * // '{"Flags":3304740253564472344,"Value":"aGk="}'
 * ```
 */
export function toJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, converted: unknown) {
      const raw = this[key];
      if (Buffer.isBuffer(raw)) return raw.toString('base64');
      if (typeof converted === 'bigint') {
        // Negative uint64s do not exist; keep any other bigint exact as a string.
        return converted >= 0n ? `${MARK}${converted}` : String(converted);
      }
      return converted;
    },
    indent,
  );
  return text === undefined ? 'null' : text.replace(MARKED, '$1');
}
