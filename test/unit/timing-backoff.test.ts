import { describe, expect, it } from 'vitest';
import { backoffDelay, backoffStep, jitterBelow } from '../../src/timing/backoff.js';

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

describe('jitter', () => {
  it('only ever shortens a heartbeat delay, by at most the fraction', () => {
    expect(jitterBelow(1000, 0.1, () => 0)).toBe(1000);
    expect(jitterBelow(1000, 0.1, () => 0.999_999)).toBeCloseTo(900, 3);
    expect(jitterBelow(1000, 5, () => 0.5)).toBe(500);
  });

  it('doubles the registration retry delay up to its cap, spread over the upper half', () => {
    const policy = { initialMs: 250, maxMs: 1000 };
    const top = () => 0.999_999;
    expect(backoffDelay(1, policy, top)).toBe(250);
    expect(backoffDelay(2, policy, top)).toBe(500);
    expect(backoffDelay(3, policy, top)).toBe(1000);
    expect(backoffDelay(50, policy, top)).toBe(1000);
    expect(backoffDelay(3, policy, () => 0)).toBeCloseTo(500, 2);
  });

  it('gives the bare exponential step for waits without jitter', () => {
    const policy = { initialMs: 100, maxMs: 1000 };
    expect(backoffStep(1, policy)).toBe(100);
    expect(backoffStep(2, policy)).toBe(200);
    expect(backoffStep(4, policy)).toBe(800);
    expect(backoffStep(5, policy)).toBe(1000);
    expect(backoffStep(0, policy)).toBe(100);
  });
});
