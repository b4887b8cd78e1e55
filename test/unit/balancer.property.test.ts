/**
 * Property tests (fast-check) for the balancer's pure logic: the strategies, the rotation
 * that leaves ejected instances out, and outlier ejection's caps.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  membersInRotation,
  OutlierDetector,
  resolveOutlierSettings,
} from '../../src/primitives/balancer/balancer-outliers.js';
import { createStrategy, type StrategyCandidate } from '../../src/primitives/balancer/balancer-strategies.js';

/** A random source that replays `values`, then keeps returning the last one. */
function replay(values: readonly number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] ?? 0;
}

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const randoms = fc.array(unit, { minLength: 1, maxLength: 8 });

/** Distinct candidates `k0…kn` with integer weights (0 included). */
const candidates = (minLength = 0) =>
  fc
    .array(fc.nat({ max: 5 }), { minLength, maxLength: 12 })
    .map((weights) => weights.map((weight, i): StrategyCandidate => ({ key: `k${i}`, weight })));

/** A subset of `k0…k11`, as the keys a call already tried. */
const excluded = fc
  .uniqueArray(fc.nat({ max: 11 }), { maxLength: 12 })
  .map((ids) => new Set(ids.map((i) => `k${i}`)));

describe('balancer strategies (property)', () => {
  it('round-robin: any n consecutive picks over n instances visit each exactly once', () => {
    fc.assert(
      fc.property(
        candidates(1),
        fc.nat({ max: 50 }),
        fc.integer({ min: 1, max: 4 }),
        (list, warmUp, rounds) => {
          const strategy = createStrategy('round-robin');
          const context = { outstanding: () => 0, random: Math.random };
          for (let i = 0; i < warmUp; i++) strategy.pick(list, context);
          const counts = new Map<string, number>();
          for (let i = 0; i < list.length * rounds; i++) {
            const picked = strategy.pick(list, context);
            expect(picked).toBeDefined();
            counts.set(picked?.key ?? '', (counts.get(picked?.key ?? '') ?? 0) + 1);
          }
          expect(counts.size).toBe(list.length);
          for (const count of counts.values()) expect(count).toBe(rounds);
        },
      ),
    );
  });

  it('round-robin: a retry picks an untried instance (if any) without moving the rotation', () => {
    fc.assert(
      fc.property(candidates(1), excluded, fc.nat({ max: 20 }), (list, exclude, warmUp) => {
        const strategy = createStrategy('round-robin');
        const twin = createStrategy('round-robin');
        const context = { outstanding: () => 0, random: Math.random };
        for (let i = 0; i < warmUp; i++) {
          strategy.pick(list, context);
          twin.pick(list, context);
        }
        const retry = strategy.pick(list, { ...context, exclude });
        const untried = list.filter((candidate) => !exclude.has(candidate.key));
        if (untried.length === 0 || exclude.size === 0) {
          if (exclude.size > 0) expect(retry).toBeUndefined();
          return;
        }
        expect(retry).toBeDefined();
        expect(exclude.has(retry?.key ?? '')).toBe(false);
        // The next plain pick is the one a balancer without the retry would make.
        expect(strategy.pick(list, context)).toBe(twin.pick(list, context));
      }),
    );
  });

  it('weighted: picks only untried instances of weight above 0, and one whenever there is one', () => {
    fc.assert(
      fc.property(candidates(), excluded, unit, (list, exclude, random) => {
        const picked = createStrategy('weighted').pick(list, {
          outstanding: () => 0,
          random: () => random,
          exclude,
        });
        const pickable = list.filter((candidate) => candidate.weight > 0 && !exclude.has(candidate.key));
        if (pickable.length === 0) expect(picked).toBeUndefined();
        else expect(pickable).toContain(picked);
      }),
    );
  });

  it('weighted: an instance is picked for a share of [0, 1) proportional to its weight', () => {
    fc.assert(
      fc.property(candidates(1), (list) => {
        const total = list.reduce((sum, candidate) => sum + candidate.weight, 0);
        fc.pre(total > 0);
        const strategy = createStrategy('weighted');
        // Sweeping the random source over a fine grid measures each instance's share exactly.
        const steps = total * 64;
        const counts = new Map<string, number>();
        for (let i = 0; i < steps; i++) {
          const picked = strategy.pick(list, { outstanding: () => 0, random: () => (i + 0.5) / steps });
          counts.set(picked?.key ?? '', (counts.get(picked?.key ?? '') ?? 0) + 1);
        }
        for (const candidate of list) expect(counts.get(candidate.key) ?? 0).toBe(candidate.weight * 64);
      }),
    );
  });

  it('random and p2c: pick an untried instance, and one whenever there is one', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('random', 'p2c'),
        candidates(),
        excluded,
        randoms,
        fc.array(fc.nat({ max: 9 }), { minLength: 12, maxLength: 12 }),
        (name, list, exclude, random, load) => {
          const picked = createStrategy(name).pick(list, {
            outstanding: (key) => load[Number(key.slice(1))] ?? 0,
            random: replay(random),
            exclude,
          });
          const untried = list.filter((candidate) => !exclude.has(candidate.key));
          if (untried.length === 0) expect(picked).toBeUndefined();
          else expect(untried).toContain(picked);
        },
      ),
    );
  });

  it('p2c: of the two instances drawn, never the one with more requests outstanding', () => {
    fc.assert(
      fc.property(
        candidates(2),
        randoms,
        fc.array(fc.nat({ max: 9 }), { minLength: 12, maxLength: 12 }),
        (list, random, load) => {
          const outstanding = (key: string): number => load[Number(key.slice(1))] ?? 0;
          // The instance with strictly the most outstanding requests is never picked.
          const most = Math.max(...list.map((candidate) => outstanding(candidate.key)));
          const busiest = list.filter((candidate) => outstanding(candidate.key) === most);
          const picked = createStrategy('p2c').pick(list, { outstanding, random: replay(random) });
          expect(picked).toBeDefined();
          if (busiest.length === 1 && list.some((candidate) => outstanding(candidate.key) < most))
            expect(picked).not.toBe(busiest[0]);
        },
      ),
    );
  });
});

type Step =
  { kind: 'fail'; instance: number } | { kind: 'succeed'; instance: number } | { kind: 'wait'; ms: number };

const step = (instances: number): fc.Arbitrary<Step> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ kind: fc.constant('fail' as const), instance: fc.nat({ max: instances - 1 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('succeed' as const),
        instance: fc.nat({ max: instances - 1 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.nat({ max: 1_500 }) }) },
  );

/** n instances, some settings, and a run of calls failing, succeeding and time passing. */
const scenario = fc
  .record({
    instances: fc.integer({ min: 1, max: 9 }),
    consecutiveFailures: fc.integer({ min: 1, max: 4 }),
    maxEjectedPercent: fc.oneof(fc.constant(50), fc.constant(100), fc.integer({ min: 1, max: 100 })),
    ejectionTimeMs: fc.integer({ min: 100, max: 2_000 }),
  })
  .chain((settings) =>
    fc.record({
      settings: fc.constant(settings),
      steps: fc.array(step(settings.instances), { maxLength: 120 }),
    }),
  );

describe('outlier ejection (property)', () => {
  it('never ejects the last pickable instance, nor more than the cap (half by default)', () => {
    fc.assert(
      fc.property(scenario, ({ settings, steps }) => {
        const resolved = resolveOutlierSettings({
          consecutiveFailures: settings.consecutiveFailures,
          maxEjectedPercent: settings.maxEjectedPercent,
          ejectionTime: settings.ejectionTimeMs,
        });
        const detector = new OutlierDetector(resolved ?? fail('detection is on'));
        const n = settings.instances;
        const cap =
          n <= 1 ? 0 : Math.min(n - 1, Math.max(1, Math.floor((n * settings.maxEjectedPercent) / 100)));
        let now = 0;
        for (const s of steps) {
          if (s.kind === 'wait') now += s.ms;
          else if (s.kind === 'succeed') detector.recordSuccess(`k${s.instance}`);
          else detector.recordFailure(`k${s.instance}`, n, now);
          const ejected = detector.ejectedCount(now);
          expect(ejected).toBeLessThanOrEqual(cap);
          expect(ejected).toBeLessThan(Math.max(n, 1));
          if (settings.maxEjectedPercent === 50)
            expect(ejected).toBeLessThanOrEqual(Math.max(1, Math.floor(n / 2)));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('ejects an instance only after consecutiveFailures failures in a row, for ejectionTime', () => {
    fc.assert(
      fc.property(scenario, ({ settings, steps }) => {
        const detector = new OutlierDetector({
          consecutiveFailures: settings.consecutiveFailures,
          maxEjectedPercent: 100,
          ejectionTimeMs: settings.ejectionTimeMs,
        });
        const n = settings.instances;
        // A model of the run of failures each instance has had since its last success/ejection.
        const run = new Map<string, number>();
        const until = new Map<string, number>();
        let now = 0;
        for (const s of steps) {
          if (s.kind === 'wait') {
            now += s.ms;
            continue;
          }
          const key = `k${s.instance}`;
          const out = (until.get(key) ?? -1) > now;
          if (!out && until.has(key)) {
            until.delete(key);
            run.delete(key);
          }
          if (s.kind === 'succeed') {
            detector.recordSuccess(key);
            run.delete(key);
            continue;
          }
          const verdict = detector.recordFailure(key, n, now);
          if (out) {
            // Failures of calls still running when it was ejected never count.
            expect(verdict.ejected).toBe(false);
            continue;
          }
          const failures = (run.get(key) ?? 0) + 1;
          run.set(key, failures);
          if (verdict.ejected) {
            expect(failures).toBeGreaterThanOrEqual(settings.consecutiveFailures);
            expect(verdict.until).toBe(now + settings.ejectionTimeMs);
            until.set(key, verdict.until);
            run.delete(key);
          }
          expect(detector.isEjected(key, now)).toBe((until.get(key) ?? -1) > now);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('p2c over the rotation never picks an ejected instance while another can be picked', () => {
    fc.assert(
      fc.property(scenario, randoms, ({ settings, steps }, random) => {
        const detector = new OutlierDetector({
          consecutiveFailures: settings.consecutiveFailures,
          maxEjectedPercent: settings.maxEjectedPercent,
          ejectionTimeMs: settings.ejectionTimeMs,
        });
        const members = Array.from({ length: settings.instances }, (_, i) => ({ key: `k${i}`, weight: 1 }));
        const p2c = createStrategy('p2c');
        let now = 0;
        for (const s of steps) {
          if (s.kind === 'wait') now += s.ms;
          else if (s.kind === 'succeed') detector.recordSuccess(`k${s.instance}`);
          else detector.recordFailure(`k${s.instance}`, members.length, now);
          const ejected = detector.ejectedKeys(now);
          const rotation = membersInRotation(members, ejected, () => true);
          expect(rotation.length).toBeGreaterThan(0);
          const picked = p2c.pick(rotation, { outstanding: () => 0, random: replay(random) });
          expect(picked).toBeDefined();
          expect(ejected).not.toContain(picked?.key);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the rotation leaves out ejected instances, but is never left without a pickable one', () => {
    fc.assert(
      fc.property(candidates(), excluded, (list, ejectedSet) => {
        const ejected = [...ejectedSet];
        const pickable = (candidate: StrategyCandidate): boolean => candidate.weight > 0;
        const rotation = membersInRotation(list, ejected, pickable);
        const kept = list.filter((candidate) => !ejectedSet.has(candidate.key));
        if (kept.some(pickable)) expect(rotation).toEqual(kept);
        else expect(rotation).toEqual(list);
      }),
      { numRuns: 500 },
    );
  });
});

function fail(message: string): never {
  throw new Error(message);
}
