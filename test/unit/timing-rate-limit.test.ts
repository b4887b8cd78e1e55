import { describe, expect, it } from 'vitest';
import { rateLimitDelay } from '../../src/timing/rate-limit.js';

describe('rateLimitDelay', () => {
  it('lets the first read go at once', () => {
    expect(rateLimitDelay(undefined, 1000, 100)).toBe(0);
  });

  it('holds a read that would start too soon after the previous one', () => {
    expect(rateLimitDelay(1000, 1030, 100)).toBe(70);
    expect(rateLimitDelay(1000, 1000, 100)).toBe(100);
  });

  it('never holds a read after a long blocking one', () => {
    expect(rateLimitDelay(1000, 61_000, 100)).toBe(0);
    expect(rateLimitDelay(1000, 1100, 100)).toBe(0);
  });

  it('is off with a 0 interval', () => {
    expect(rateLimitDelay(1000, 1000, 0)).toBe(0);
  });
});
