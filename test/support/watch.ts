/**
 * Helpers for tests of `consul.watch`: waiting for a value, reading KV values as text.
 */
import type { KVPair, Watch } from '../../src/index.js';

/** A KV entry's value as text; `undefined` for no entry. */
export const text = (entry: KVPair | undefined): string | undefined =>
  entry === undefined ? undefined : String(entry.Value);

/**
 * Resolves with the first value of `watch` that satisfies `predicate` (current one included);
 * rejects after `timeoutMs` (a hang guard).
 */
export function until<T>(watch: Watch<T>, predicate: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      watch.off('change', check);
      reject(
        new Error(`no matching value within ${timeoutMs} ms (hang guard); last: ${String(watch.current)}`),
      );
    }, timeoutMs);
    const check = (value: T): void => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      watch.off('change', check);
      resolve(value);
    };
    watch.on('change', check);
    if (watch.index !== undefined) check(watch.current as T);
  });
}
