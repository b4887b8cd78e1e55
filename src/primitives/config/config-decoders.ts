/**
 * The pure half of the config map: how a prefix is normalized, how raw KV values become
 * config values, and how a new KV listing is folded into the previous state (what was added,
 * changed and removed, which values failed to decode).
 *
 * @packageDocumentation
 */
import type { KVPair } from '../../api/kv.js';
import { ConfigDecodeError, ValidationError } from '../../errors.js';
import { deepEqual } from '../../watch/deep-equal.js';

/** A custom decoder: turns a key's raw bytes into its config value. Throw to reject the value. */
export type ConfigDecoder<T = unknown> = (value: Buffer, key: string) => T;

/**
 * How values are decoded:
 * - `'string'` (the default): UTF-8 text;
 * - `'json'`: `JSON.parse` of the UTF-8 text (numbers above 2^53 lose precision, as with any
 *   `JSON.parse`; use a custom decoder for those);
 * - `'buffer'`: the raw bytes (a copy per value);
 * - a function `(value, key) => decoded`, where `key` is relative to the prefix.
 */
export type ConfigDecode = 'json' | 'string' | 'buffer' | ConfigDecoder;

/** The value type a {@link ConfigDecode} produces. */
export type DecodedValue<D> = D extends 'string'
  ? string
  : D extends 'buffer'
    ? Buffer
    : D extends ConfigDecoder<infer R>
      ? R
      : unknown;

const BUILT_IN: Readonly<Record<'json' | 'string' | 'buffer', ConfigDecoder>> = Object.freeze({
  string: (value: Buffer) => value.toString('utf8'),
  json: (value: Buffer): unknown => JSON.parse(value.toString('utf8')),
  // A copy: the KV entry's buffer is shared by every watch of the prefix and compared with
  // the next answer, so handing it out would let a caller corrupt that comparison.
  buffer: (value: Buffer) => Buffer.from(value),
});

/**
 * The decoder function for a `decode` option.
 *
 * @throws ValidationError for anything but `'json'`, `'string'`, `'buffer'` or a function
 */
export function resolveDecoder(decode: unknown = 'string'): ConfigDecoder {
  if (typeof decode === 'function') return decode as ConfigDecoder;
  if (decode === 'json' || decode === 'string' || decode === 'buffer') return BUILT_IN[decode];
  throw new ValidationError(
    'decode',
    `must be 'json', 'string', 'buffer' or a function, not ${String(decode)}`,
  );
}

/**
 * The Consul prefix a config map watches. A config map is a folder: a prefix without a
 * trailing slash gets one (`app/config` and `app/config/` both watch `app/config/…`, never
 * `app/configuration`); `''` watches the whole KV store.
 *
 * @throws ValidationError for a non-string prefix or one starting with `/`
 */
export function normalizeConfigPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string') throw new ValidationError('prefix', 'must be a string');
  if (prefix.startsWith('/')) throw new ValidationError('prefix', `'${prefix}' must not start with '/'`);
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** What the config map remembers about one key between listings. */
export interface ConfigKeyState<T> {
  /** `ModifyIndex` of the version last looked at: an unchanged index is not decoded again. */
  readonly modifyIndex: bigint;
  /** The last value that decoded, with the bytes it came from; undefined if none ever did. */
  readonly good: { readonly raw: Buffer; readonly value: T } | undefined;
}

/** The result of folding a listing into the previous state. */
export interface ConfigReconciliation<T> {
  /** The state to keep for the next listing, by relative key. */
  readonly states: Map<string, ConfigKeyState<T>>;
  /** The config values now visible, by relative key, in key order. */
  readonly values: Map<string, T>;
  /** Keys that now have a value and had none. */
  readonly added: string[];
  /** Keys whose value changed. */
  readonly changed: string[];
  /** Keys that had a value and are gone. */
  readonly removed: string[];
  /** Values that failed to decode in this listing (each version is reported once). */
  readonly errors: ConfigDecodeError[];
}

/**
 * Folds a KV listing of `prefix` into the previous state.
 *
 * - Keys are made relative to `prefix`. Folder keys (ending in `/` with an empty value) and
 *   the prefix's own key are skipped.
 * - A version already looked at (same `ModifyIndex`) is neither decoded nor reported again.
 * - A value that fails to decode produces a {@link ConfigDecodeError} and the key keeps its
 *   last good value.
 * - A value that decodes to what the key already holds (deep equality: `{"pool":5}` rewritten
 *   as `{ "pool": 5 }`) is not a change, and the key keeps the very same value object; bytes
 *   equal to the last good ones are not even decoded again.
 */
export function reconcileConfig<T>(
  previous: ReadonlyMap<string, ConfigKeyState<T>>,
  pairs: readonly KVPair[],
  prefix: string,
  decode: ConfigDecoder<T>,
): ConfigReconciliation<T> {
  const states = new Map<string, ConfigKeyState<T>>();
  const values = new Map<string, T>();
  const added: string[] = [];
  const changed: string[] = [];
  const errors: ConfigDecodeError[] = [];

  for (const pair of pairs) {
    if (!pair.Key.startsWith(prefix)) continue;
    const key = pair.Key.slice(prefix.length);
    if (key === '' || (key.endsWith('/') && pair.Value.length === 0)) continue;
    const before = previous.get(key);
    let state: ConfigKeyState<T>;
    if (before !== undefined && before.modifyIndex === pair.ModifyIndex) {
      state = before;
    } else if (before?.good !== undefined && before.good.raw.equals(pair.Value)) {
      state = { modifyIndex: pair.ModifyIndex, good: before.good };
    } else {
      let good = before?.good;
      try {
        const value = decode(pair.Value, key);
        if (before?.good === undefined) {
          good = { raw: pair.Value, value };
          added.push(key);
        } else if (deepEqual(before.good.value, value)) {
          good = { raw: pair.Value, value: before.good.value };
        } else {
          good = { raw: pair.Value, value };
          changed.push(key);
        }
      } catch (cause) {
        errors.push(new ConfigDecodeError(key, pair.Key, { cause }));
      }
      state = { modifyIndex: pair.ModifyIndex, good };
    }
    states.set(key, state);
    if (state.good !== undefined) values.set(key, state.good.value);
  }

  const removed: string[] = [];
  for (const [key, state] of previous) {
    if (state.good !== undefined && !values.has(key)) removed.push(key);
  }
  return { states, values, added, changed, removed, errors };
}
