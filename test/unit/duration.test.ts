import { describe, expect, it } from 'vitest';
import { boundedDuration, formatDuration, toMilliseconds } from '../../src/duration.js';
import { ValidationError } from '../../src/errors.js';

describe('toMilliseconds', () => {
  it.each([
    ['15s', 15_000],
    ['1m30s', 90_000],
    ['250ms', 250],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['0', 0],
    ['100us', 0.1],
    [1234, 1234],
  ])('%s → %d ms', (input, expected) => {
    expect(toMilliseconds(input)).toBe(expected);
  });

  it.each(['', '15', 's', '15 s', '1x', '-5s', 'abc', '1m30'])('rejects %j', (input) => {
    expect(() => toMilliseconds(input, 'ttl')).toThrow(ValidationError);
  });

  it('rejects negative and non-finite numbers', () => {
    expect(() => toMilliseconds(-1)).toThrow(ValidationError);
    expect(() => toMilliseconds(Number.NaN)).toThrow(ValidationError);
    expect(() => toMilliseconds(Number.POSITIVE_INFINITY)).toThrow(ValidationError);
  });

  it('names the field in the error', () => {
    expect(() => toMilliseconds('soon', 'lockDelay')).toThrow(/lockDelay/);
  });
});

describe('formatDuration', () => {
  it('writes whole seconds as seconds and the rest as milliseconds', () => {
    expect(formatDuration(15_000)).toBe('15s');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatDuration(0)).toBe('0s');
  });

  it('round-trips through toMilliseconds', () => {
    for (const ms of [1, 999, 1000, 61_500, 86_400_000]) expect(toMilliseconds(formatDuration(ms))).toBe(ms);
  });
});

describe('boundedDuration', () => {
  it('accepts values inside the bounds and rejects values outside', () => {
    expect(boundedDuration('10s', 'TTL', 10_000, 86_400_000)).toBe(10_000);
    expect(() => boundedDuration('9s', 'TTL', 10_000, 86_400_000)).toThrow(/outside the allowed range/);
    expect(() => boundedDuration('25h', 'TTL', 10_000, 86_400_000)).toThrow(ValidationError);
  });
});
