import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deepEqual } from '../../src/watch/deep-equal.js';
import { diffConfig, mergeLayers, type ConfigTree } from '../../src/primitives/layered-config/merge.js';

// Config-shaped trees: objects of objects with JSON leaves (arrays included), as YAML gives.
const key = fc.constantFrom('a', 'b', 'c', 'db', 'pool', 'tags');
const leaf = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 3 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const { tree } = fc.letrec<{ tree: ConfigTree; value: unknown }>((tie) => ({
  tree: fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('tree')),
}));

/** Applies a diff to a tree: what a consumer of `change` events would do. */
function applyDiff(base: unknown, diff: ReturnType<typeof diffConfig>): unknown {
  let result = structuredClone(base);
  for (const entry of diff) {
    if (entry.path.length === 0) {
      result = entry.after;
      continue;
    }
    let node = result as Record<string, unknown>;
    for (const part of entry.path.slice(0, -1)) {
      if (node[part] === null || typeof node[part] !== 'object' || Array.isArray(node[part])) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    const last = entry.path.at(-1)!;
    if (entry.kind === 'removed') delete node[last];
    else node[last] = entry.after;
  }
  return result;
}

describe('layered config merge and diff (properties)', () => {
  it('the diff is empty exactly when the configs are equal', () => {
    fc.assert(
      fc.property(tree, tree, (a, b) => {
        expect(diffConfig(a, b).length === 0).toBe(deepEqual(a, b));
        expect(diffConfig(a, structuredClone(a))).toEqual([]);
      }),
    );
  });

  it('applying the diff to the old config gives the new one', () => {
    fc.assert(
      fc.property(tree, tree, (a, b) => {
        expect(deepEqual(applyDiff(a, diffConfig(a, b)), b)).toBe(true);
      }),
    );
  });

  it('a layer merged over itself changes nothing, and the top layer always wins its leaves', () => {
    fc.assert(
      fc.property(tree, tree, (low, high) => {
        expect(deepEqual(mergeLayers([low, low]), mergeLayers([low]))).toBe(true);
        const merged = mergeLayers([low, high]);
        for (const [name, value] of Object.entries(high)) {
          if (value === null || typeof value !== 'object' || Array.isArray(value)) {
            expect(merged[name]).toEqual(value);
          }
        }
      }),
    );
  });
});
