/**
 * The nemesis checker must find every overlap and nothing else: property tests against a
 * brute-force count on generated histories.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  availability,
  checkHistory,
  findFencingViolations,
  findOverlaps,
  maxConcurrent,
} from '../chaos/checker.js';
import type { Hold, PrimitiveKind } from '../chaos/history.js';

const hold = (
  start: number,
  end: number | undefined,
  token?: bigint,
  primitive: PrimitiveKind = 'lock',
): Hold => ({
  primitive,
  contender: `c${start}`,
  node: 'n',
  start,
  end,
  token,
  how: end === undefined ? 'open' : 'released',
});

/** Holders at instant t, half-open intervals. */
const bruteAt = (holds: readonly Hold[], t: number, runEnd: number): number =>
  holds.filter((h) => h.start <= t && t < (h.end ?? runEnd)).length;

const intervals = fc.array(
  fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 60 })).map(([s, d]) => hold(s, s + d)),
  { maxLength: 25 },
);

describe('nemesis checker', () => {
  it('maxConcurrent equals a brute-force count at every interval start', () => {
    fc.assert(
      fc.property(intervals, (holds) => {
        const brute = Math.max(
          0,
          ...holds.filter((h) => h.end! > h.start).map((h) => bruteAt(holds, h.start, 1000)),
        );
        expect(maxConcurrent(holds, 1000)).toBe(brute);
      }),
    );
  });

  it('finds an overlap exactly when more than the limit hold at some instant', () => {
    fc.assert(
      fc.property(intervals, fc.integer({ min: 1, max: 3 }), (holds, limit) => {
        const overlaps = findOverlaps(holds, limit, 1000);
        expect(overlaps.length > 0).toBe(maxConcurrent(holds, 1000) > limit);
        for (const overlap of overlaps) {
          expect(overlap.holders.length).toBeGreaterThan(limit);
          // Several holds may start at the same instant; the report names those seen so far.
          expect(bruteAt(holds, overlap.at, 1000)).toBeGreaterThanOrEqual(overlap.holders.length);
        }
      }),
    );
  });

  it('a chain of back-to-back holds (one ends when the next starts) does not overlap', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 30 }), (lengths) => {
        let t = 0;
        const holds = lengths.map((length, i) => {
          const h = hold(t, t + length, BigInt(i + 1));
          t += length;
          return h;
        });
        const result = checkHistory(holds, 0, t);
        expect(result.overlaps).toEqual([]);
        expect(result.fencingViolations).toEqual([]);
        expect(result.perPrimitive.lock.availability).toBeCloseTo(1, 9);
      }),
    );
  });

  it('an open hold counts until the end of the run', () => {
    expect(findOverlaps([hold(0, undefined), hold(50, 60)], 1, 100)).toHaveLength(1);
    expect(findOverlaps([hold(0, undefined), hold(50, 60)], 1, 40)).toHaveLength(0);
  });

  it('availability is the covered share of the run', () => {
    expect(availability([hold(0, 10), hold(5, 20), hold(50, 60)], 0, 100)).toBeCloseTo(0.3, 9);
    expect(availability([], 0, 100)).toBe(0);
    fc.assert(
      fc.property(intervals, (holds) => {
        const a = availability(holds, 0, 300);
        expect(a).toBeGreaterThanOrEqual(0);
        expect(a).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('fencing tokens of successive holds must strictly increase', () => {
    expect(findFencingViolations([hold(0, 5, 3n), hold(6, 9, 4n)])).toEqual([]);
    expect(findFencingViolations([hold(0, 5, 3n), hold(6, 9, 3n)])).toHaveLength(1);
    expect(findFencingViolations([hold(6, 9, 2n), hold(0, 5, 3n)])).toHaveLength(1);
    expect(findFencingViolations([hold(0, 5, undefined), hold(6, 9, 4n)])).toHaveLength(1);
  });

  it('checks each primitive against its own limit', () => {
    const sem = [hold(0, 10, undefined, 'semaphore'), hold(2, 10, undefined, 'semaphore')];
    expect(checkHistory(sem, 0, 10).overlaps).toEqual([]);
    const three = [...sem, hold(5, 6, undefined, 'semaphore')];
    expect(checkHistory(three, 0, 10).overlaps).toHaveLength(1);
    const leaders = [hold(0, 10, 1n, 'election'), hold(9, 12, 2n, 'election')];
    expect(checkHistory(leaders, 0, 12).overlaps).toHaveLength(1);
  });
});
