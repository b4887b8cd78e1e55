import { describe, expect, it } from 'vitest';
import type { ServiceEntry } from '../../src/api/health/health.js';
import { ValidationError } from '../../src/errors.js';
import { aggregateStatus, diffMembers, toMembers } from '../../src/primitives/balancer/balancer-members.js';
import {
  createStrategy,
  type PickContext,
  type StrategyCandidate,
} from '../../src/primitives/balancer/balancer-strategies.js';

/** A deterministic random source (mulberry32), so statistical checks never flake. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function context(random: () => number, load: Record<string, number> = {}): PickContext {
  return { random, outstanding: (key) => load[key] ?? 0 };
}

const abc: StrategyCandidate[] = [
  { key: 'a', weight: 1 },
  { key: 'b', weight: 1 },
  { key: 'c', weight: 1 },
];

function counts(pick: () => StrategyCandidate | undefined, times: number): Record<string, number> {
  const result: Record<string, number> = {};
  for (let i = 0; i < times; i += 1) {
    const key = pick()?.key ?? 'none';
    result[key] = (result[key] ?? 0) + 1;
  }
  return result;
}

describe('createStrategy', () => {
  it("defaults to 'p2c' and rejects unknown names", () => {
    expect(createStrategy().name).toBe('p2c');
    expect(() => createStrategy('least-conn')).toThrow(ValidationError);
  });

  it('every strategy gives undefined for no candidates and the only one for one', () => {
    for (const name of ['p2c', 'round-robin', 'random', 'weighted'] as const) {
      const strategy = createStrategy(name);
      expect(strategy.pick([], context(Math.random))).toBeUndefined();
      expect(strategy.pick([{ key: 'x', weight: 1 }], context(Math.random))?.key).toBe('x');
    }
  });
});

describe('round-robin', () => {
  it('cycles through every candidate in order', () => {
    const strategy = createStrategy('round-robin');
    const picks = Array.from({ length: 7 }, () => strategy.pick(abc, context(Math.random))?.key);
    expect(picks).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('keeps going when the list changes instead of restarting', () => {
    const strategy = createStrategy('round-robin');
    strategy.pick(abc, context(Math.random));
    strategy.pick(abc, context(Math.random));
    const two = abc.slice(0, 2);
    expect(strategy.pick(two, context(Math.random))?.key).toBe('a');
    expect(strategy.pick(two, context(Math.random))?.key).toBe('b');
  });
});

describe('exclusions (retries)', () => {
  it('round-robin serves a retry with the next untried instance without moving its rotation', () => {
    const strategy = createStrategy('round-robin');
    expect(strategy.pick(abc, context(Math.random))?.key).toBe('a');
    expect(strategy.pick(abc, context(Math.random))?.key).toBe('b');
    // 'b' failed: the retry goes to 'c', and the rotation still has 'c' next.
    expect(strategy.pick(abc, { ...context(Math.random), exclude: new Set(['b']) })?.key).toBe('c');
    expect(strategy.pick(abc, context(Math.random))?.key).toBe('c');
    expect(
      strategy.pick(abc, { ...context(Math.random), exclude: new Set(['a', 'b', 'c']) }),
    ).toBeUndefined();
  });

  it('no strategy picks an excluded instance', () => {
    const random = seeded(11);
    for (const name of ['p2c', 'round-robin', 'random', 'weighted'] as const) {
      const strategy = createStrategy(name);
      for (let i = 0; i < 200; i += 1) {
        const exclude = new Set([abc[i % 3]?.key ?? '']);
        const chosen = strategy.pick(abc, { ...context(random), exclude });
        expect(chosen).toBeDefined();
        expect(exclude.has(chosen?.key ?? '')).toBe(false);
      }
    }
  });
});

describe('random', () => {
  it('spreads picks uniformly', () => {
    const strategy = createStrategy('random');
    const random = seeded(1);
    const result = counts(() => strategy.pick(abc, context(random)), 30_000);
    for (const key of ['a', 'b', 'c']) expect(result[key]).toBeGreaterThan(9_000);
  });

  it('survives a random source returning 1', () => {
    expect(
      createStrategy('random').pick(
        abc,
        context(() => 1),
      )?.key,
    ).toBe('c');
  });
});

describe('p2c', () => {
  it('prefers the less loaded of two distinct draws', () => {
    const strategy = createStrategy('p2c');
    // First draw index 0 (a), second from the remaining two at index 0 (b).
    expect(
      strategy.pick(
        abc,
        context(() => 0, { a: 5, b: 1 }),
      )?.key,
    ).toBe('b');
    expect(
      strategy.pick(
        abc,
        context(() => 0, { a: 1, b: 5 }),
      )?.key,
    ).toBe('a');
    expect(
      strategy.pick(
        abc,
        context(() => 0, { a: 2, b: 2 }),
      )?.key,
    ).toBe('a');
  });

  it('never picks the most loaded instance when the others are idle', () => {
    const strategy = createStrategy('p2c');
    const random = seeded(7);
    const result = counts(() => strategy.pick(abc, context(random, { a: 10 })), 3_000);
    expect(result['a']).toBeUndefined();
    expect(result['b']).toBeGreaterThan(1_000);
    expect(result['c']).toBeGreaterThan(1_000);
  });

  it('draws two distinct instances', () => {
    const strategy = createStrategy('p2c');
    // Both raw draws land on index 0; the second is shifted past the first.
    expect(
      strategy.pick(
        abc.slice(0, 2),
        context(() => 0, { a: 3 }),
      )?.key,
    ).toBe('b');
  });
});

describe('weighted', () => {
  it('picks in proportion to the weights', () => {
    const strategy = createStrategy('weighted');
    const random = seeded(3);
    const candidates = [
      { key: 'a', weight: 1 },
      { key: 'b', weight: 3 },
      { key: 'c', weight: 6 },
    ];
    const result = counts(() => strategy.pick(candidates, context(random)), 50_000);
    expect((result['a'] ?? 0) / 50_000).toBeCloseTo(0.1, 1);
    expect((result['b'] ?? 0) / 50_000).toBeCloseTo(0.3, 1);
    expect((result['c'] ?? 0) / 50_000).toBeCloseTo(0.6, 1);
  });

  it('never picks weight 0, and gives undefined when every weight is 0', () => {
    const strategy = createStrategy('weighted');
    const candidates = [
      { key: 'a', weight: 0 },
      { key: 'b', weight: 2 },
    ];
    for (const r of [0, 0.25, 0.5, 0.999999])
      expect(
        strategy.pick(
          candidates,
          context(() => r),
        )?.key,
      ).toBe('b');
    expect(
      strategy.pick(
        [{ key: 'a', weight: 0 }],
        context(() => 0.5),
      ),
    ).toBeUndefined();
  });

  it('handles a random source at the top of its range', () => {
    const strategy = createStrategy('weighted');
    expect(
      strategy.pick(
        abc,
        context(() => 0.9999999999999999),
      )?.key,
    ).toBe('c');
  });
});

describe('aggregateStatus', () => {
  it('is the worst status of the checks', () => {
    expect(aggregateStatus([])).toBe('passing');
    expect(aggregateStatus(null)).toBe('passing');
    expect(aggregateStatus([{ Status: 'passing' }, { Status: 'warning' }])).toBe('warning');
    expect(aggregateStatus([{ Status: 'warning' }, { Status: 'critical' }, { Status: 'passing' }])).toBe(
      'critical',
    );
  });
});

function entry(
  node: string,
  id: string,
  options: {
    address?: string;
    port?: number;
    statuses?: ('passing' | 'warning' | 'critical')[];
    weights?: { Passing: number; Warning: number };
  } = {},
): ServiceEntry {
  return {
    Node: {
      ID: '',
      Node: node,
      Address: `10.0.0.${node.length}`,
      Datacenter: 'dc1',
      TaggedAddresses: null,
      Meta: null,
      CreateIndex: 1n,
      ModifyIndex: 1n,
    },
    Service: {
      ID: id,
      Service: 'web',
      Tags: ['v1'],
      Meta: { zone: 'a' },
      Port: options.port ?? 80,
      Address: options.address ?? '',
      Weights: options.weights ?? { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
    },
    Checks: (options.statuses ?? ['passing']).map((Status, i) => ({
      Node: node,
      CheckID: `c${i}`,
      Name: `c${i}`,
      Status,
      Notes: '',
      Output: '',
      ServiceID: id,
      ServiceName: 'web',
      ServiceTags: [],
      Type: 'ttl',
      CreateIndex: 1n,
      ModifyIndex: 1n,
    })),
  };
}

describe('toMembers', () => {
  it('maps entries to instances, falling back to the node address', () => {
    const [own, fallback] = toMembers(
      [entry('n1', 'web-1', { address: '127.0.0.9', port: 8080 }), entry('n22', 'web-2')],
      false,
    ).map((member) => member.instance);
    expect(own).toEqual({
      id: 'web-1',
      node: 'n1',
      address: '127.0.0.9',
      port: 8080,
      tags: ['v1'],
      meta: { zone: 'a' },
      status: 'passing',
      weight: 1,
    });
    expect(fallback?.address).toBe('10.0.0.3');
    expect(Object.isFrozen(own)).toBe(true);
  });

  it('drops critical instances always and warning ones unless asked, weighting by status', () => {
    const entries = [
      entry('n', 'ok', { weights: { Passing: 5, Warning: 2 } }),
      entry('n', 'warn', { statuses: ['passing', 'warning'], weights: { Passing: 5, Warning: 2 } }),
      entry('n', 'down', { statuses: ['critical'] }),
    ];
    expect(toMembers(entries, false).map((member) => member.instance.id)).toEqual(['ok']);
    const withWarning = toMembers(entries, true);
    expect(withWarning.map((member) => [member.instance.id, member.instance.status, member.weight])).toEqual([
      ['ok', 'passing', 5],
      ['warn', 'warning', 2],
    ]);
  });

  it('tells instances with the same ID on different nodes apart, in a stable order', () => {
    const members = toMembers([entry('n2', 'web'), entry('n1', 'web')], false);
    expect(members.map((member) => member.instance.node)).toEqual(['n1', 'n2']);
    expect(new Set(members.map((member) => member.key)).size).toBe(2);
  });
});

describe('diffMembers', () => {
  it('lists added, removed and updated instances', () => {
    const before = toMembers([entry('n', 'a'), entry('n', 'b'), entry('n', 'c')], false);
    const after = toMembers([entry('n', 'a'), entry('n', 'b', { port: 81 }), entry('n', 'd')], false);
    const diff = diffMembers(before, after);
    expect(diff.added.map((instance) => instance.id)).toEqual(['d']);
    expect(diff.removed.map((instance) => instance.id)).toEqual(['c']);
    expect(diff.updated.map((instance) => [instance.id, instance.port])).toEqual([['b', 81]]);
    expect(
      diffMembers(after, toMembers([entry('n', 'a'), entry('n', 'b', { port: 81 }), entry('n', 'd')], false)),
    ).toEqual({
      added: [],
      removed: [],
      updated: [],
    });
  });
});
