/**
 * Deep merge of config layers and the diff between two configs. Objects merge key by key;
 * everything else (arrays included) is replaced by the later layer, as Spring does.
 *
 * Written here rather than taken from a merge library because the rules are these few lines
 * and the diff has to follow exactly the same notion of "leaf".
 *
 * @packageDocumentation
 */
import { deepEqual } from '../../watch/deep-equal.js';

/** A config tree: nested plain objects with YAML/JSON values at the leaves. */
export type ConfigTree = { [key: string]: unknown };

/** One difference between two configs. */
export interface ConfigDiffEntry {
  /** Keys from the root, e.g. `['db', 'pool']`. */
  readonly path: readonly string[];
  /** `added`: no value before; `removed`: no value after; `changed`: both differ. */
  readonly kind: 'added' | 'changed' | 'removed';
  /** The value before (absent for `added`). */
  readonly before?: unknown;
  /** The value after (absent for `removed`). */
  readonly after?: unknown;
}

// Keys that would reach Object.prototype through an ordinary object.
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** Whether a value is a plain object (not an array, a Date, null…). */
export function isPlainObject(value: unknown): value is ConfigTree {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Merges `source` into `target` in place; `source` wins. Values are copied, never shared. */
export function mergeInto(target: ConfigTree, source: ConfigTree): ConfigTree {
  for (const [key, value] of Object.entries(source)) {
    if (FORBIDDEN.has(key)) continue;
    const existing = target[key];
    if (isPlainObject(value)) {
      const into = isPlainObject(existing) ? existing : ({} as ConfigTree);
      target[key] = mergeInto(into, value);
    } else {
      target[key] = structuredClone(value);
    }
  }
  return target;
}

/** Sets a value at a path, creating (or replacing non-object) parents on the way. */
export function setPath(tree: ConfigTree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const [i, key] of path.entries()) {
    if (FORBIDDEN.has(key)) return;
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (isPlainObject(next)) node = next;
    else {
      const created = {} as ConfigTree;
      node[key] = created;
      node = created;
    }
  }
}

/** Merges layers, lowest precedence first, into a new tree. */
export function mergeLayers(layers: readonly ConfigTree[]): ConfigTree {
  const merged = {} as ConfigTree;
  for (const layer of layers) mergeInto(merged, layer);
  return merged;
}

/** The leaves that differ between two configs, in key order of `after` then `before`. */
export function diffConfig(before: unknown, after: unknown, path: readonly string[] = []): ConfigDiffEntry[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(after), ...Object.keys(before)])];
    return keys.flatMap((key) => {
      const inBefore = Object.hasOwn(before, key);
      const inAfter = Object.hasOwn(after, key);
      const at = [...path, key];
      if (!inBefore) return [{ path: at, kind: 'added' as const, after: after[key] }];
      if (!inAfter) return [{ path: at, kind: 'removed' as const, before: before[key] }];
      return diffConfig(before[key], after[key], at);
    });
  }
  return deepEqual(before, after) ? [] : [{ path, kind: 'changed', before, after }];
}

/** Whether a tree defines a value at a path. */
export function hasPath(tree: unknown, path: readonly string[]): boolean {
  let node = tree;
  for (const key of path) {
    if (!isPlainObject(node) || !Object.hasOwn(node, key)) return false;
    node = node[key];
  }
  return true;
}
