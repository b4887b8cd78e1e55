import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/timing/backoff.js';
import { nextIndex } from '../../src/watch/index-rules.js';
import { rateLimitDelay } from '../../src/timing/rate-limit.js';

const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
// Indexes as a misbehaving or restarted server hands them out: mostly growing, with zeros
// and jumps back mixed in.
const answer = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 1n, max: 1000n }) },
  { weight: 1, arbitrary: fc.constant(0n) },
  { weight: 1, arbitrary: uint64 },
);

describe('watch index rules (property)', () => {
  it('never sends an index below 1 after a read that carried one', () => {
    fc.assert(
      fc.property(
        fc.array(answer, { minLength: 1, maxLength: 50 }),
        fc.constantFrom('raft', 'opaque'),
        (answers, mode) => {
          let index = 0n;
          for (const received of answers) {
            index = nextIndex(index, received, mode);
            expect(index).toBeGreaterThanOrEqual(1n);
          }
        },
      ),
    );
  });

  it('raft: follows a non-decreasing index exactly, and resets to 1 when it goes backwards', () => {
    fc.assert(
      fc.property(uint64, uint64, (previous, received) => {
        const next = nextIndex(previous, received, 'raft');
        if (received < previous) expect(next).toBe(1n);
        else expect(next).toBe(received < 1n ? 1n : received);
      }),
    );
  });

  it('never waits for an index beyond what the server reported (a read can always return)', () => {
    fc.assert(
      fc.property(uint64, uint64, fc.constantFrom('raft', 'opaque'), (previous, received, mode) => {
        const next = nextIndex(previous, received, mode);
        expect(next <= (received < 1n ? 1n : received)).toBe(true);
      }),
    );
  });

  it('opaque: takes any index as it is (clamped to 1); no index means a plain read', () => {
    fc.assert(
      fc.property(uint64, uint64, (previous, received) => {
        expect(nextIndex(previous, received, 'opaque')).toBe(received < 1n ? 1n : received);
        expect(nextIndex(previous, undefined, 'opaque')).toBe(0n);
        expect(nextIndex(previous, undefined, 'raft')).toBe(0n);
      }),
    );
  });
});

describe('watch backoff (property)', () => {
  const policy = fc
    .tuple(fc.integer({ min: 1, max: 600_000 }), fc.integer({ min: 1, max: 600_000 }))
    .map(([a, b]) => ({ initialMs: Math.min(a, b), maxMs: Math.max(a, b) }));
  const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

  it('stays within [step/2, step] with step = min(max, initial × 2^(n-1)), never 0, never above the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 10_000 }), policy, random, (failures, bounds, r) => {
        const delay = backoffDelay(failures, bounds, () => r);
        const step = Math.min(bounds.maxMs, bounds.initialMs * 2 ** Math.max(0, Math.min(failures - 1, 52)));
        expect(delay).toBeGreaterThanOrEqual(Math.floor(step / 2));
        expect(delay).toBeLessThanOrEqual(Math.ceil(step));
        expect(delay).toBeLessThanOrEqual(bounds.maxMs);
        expect(delay).toBeGreaterThanOrEqual(bounds.initialMs >= 2 ? 1 : 0);
      }),
    );
  });

  it('never shrinks as failures accumulate (for the same jitter draw)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), policy, random, (failures, bounds, r) => {
        expect(backoffDelay(failures + 1, bounds, () => r)).toBeGreaterThanOrEqual(
          backoffDelay(failures, bounds, () => r),
        );
      }),
    );
  });
});

describe('watch rate limit (property)', () => {
  it('never waits longer than the interval when float rounding of large clock values would say so', () => {
    // fast-check found this: 50501.457… + 15035 − 50501.457… is 15035.000000000007 in floats.
    expect(rateLimitDelay(50501.45762184806, 50501.45762184806, 15035)).toBeLessThanOrEqual(15035);
  });

  it('starts two reads at least minInterval apart, and never waits longer than that', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.integer({ min: 0, max: 60_000 }),
        (lastStart, elapsed, minInterval) => {
          const delay = rateLimitDelay(lastStart, lastStart + elapsed, minInterval);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(minInterval);
          expect(lastStart + elapsed + delay).toBeGreaterThanOrEqual(lastStart + minInterval - 1e-6);
          expect(rateLimitDelay(undefined, lastStart, minInterval)).toBe(0);
        },
      ),
    );
  });
});
