import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/watch/backoff.js';

const policy = { initialMs: 500, maxMs: 30_000 };

describe('backoffDelay', () => {
  it('doubles per failure between half and the full step', () => {
    expect(backoffDelay(1, policy, () => 0)).toBe(250);
    expect(backoffDelay(1, policy, () => 0.999999)).toBe(500);
    expect(backoffDelay(2, policy, () => 0)).toBe(500);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(1500);
  });

  it('never exceeds the cap, however many failures', () => {
    for (const failures of [7, 8, 20, 1000, Number.MAX_SAFE_INTEGER]) {
      expect(backoffDelay(failures, policy, () => 0.999999)).toBeLessThanOrEqual(30_000);
      expect(backoffDelay(failures, policy, () => 0)).toBe(15_000);
    }
  });

  it('spreads clients with jitter', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, policy)));
    expect(delays.size).toBeGreaterThan(1);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(2000);
      expect(delay).toBeLessThanOrEqual(4000);
    }
  });

  it('treats 0 or negative failure counts like the first failure', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(250);
  });
});
