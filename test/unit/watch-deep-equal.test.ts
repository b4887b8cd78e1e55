import { describe, expect, it } from 'vitest';
import { deepEqual } from '../../src/watch/deep-equal.js';

describe('deepEqual', () => {
  it('compares primitives, bigints and NaN by value', () => {
    expect(deepEqual(1, 1)).toBe(true);
    expect(deepEqual(0, -0)).toBe(true);
    expect(deepEqual(Number.NaN, Number.NaN)).toBe(true);
    expect(deepEqual('a', 'a')).toBe(true);
    expect(deepEqual(3304740253564472344n, 3304740253564472344n)).toBe(true);
    expect(deepEqual(1n, 2n)).toBe(false);
    expect(deepEqual(1n, 1)).toBe(false);
    expect(deepEqual(undefined, null)).toBe(false);
    expect(deepEqual(undefined, undefined)).toBe(true);
  });

  it('compares Buffers and typed arrays by bytes', () => {
    expect(deepEqual(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
    expect(deepEqual(Buffer.from('abc'), Buffer.from('abd'))).toBe(false);
    expect(deepEqual(Buffer.from('ab'), Buffer.from('abc'))).toBe(false);
    expect(deepEqual(Buffer.alloc(0), Buffer.alloc(0))).toBe(true);
    // Views into a larger pool (how Buffer.from(base64) often allocates) compare by their own bytes.
    const pooled = Buffer.from('xxabcxx').subarray(2, 5);
    expect(deepEqual(pooled, Buffer.from('abc'))).toBe(true);
    expect(deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(deepEqual(Buffer.from([1, 2]), [1, 2])).toBe(false);
    expect(deepEqual(Buffer.from([1, 2]), new Uint8Array([1, 2]))).toBe(false);
  });

  it('compares KV entries the way a watch needs', () => {
    const entry = (value: string, modify: bigint) => ({
      Key: 'app/x',
      CreateIndex: 10n,
      ModifyIndex: modify,
      LockIndex: 0n,
      Flags: 3304740253564472344n,
      Value: Buffer.from(value),
    });
    expect(deepEqual([entry('a', 11n)], [entry('a', 11n)])).toBe(true);
    expect(deepEqual([entry('a', 11n)], [entry('a', 12n)])).toBe(false);
    expect(deepEqual([entry('a', 11n)], [entry('b', 11n)])).toBe(false);
    expect(deepEqual([entry('a', 11n)], [entry('a', 11n), entry('a', 11n)])).toBe(false);
    expect(deepEqual({ ...entry('a', 11n), Session: 's' }, entry('a', 11n))).toBe(false);
  });

  it('compares arrays by order and objects by keys', () => {
    expect(deepEqual([1, [2, { a: 3 }]], [1, [2, { a: 3 }]])).toBe(true);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(deepEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(deepEqual({ a: undefined }, {})).toBe(false);
    expect(deepEqual({ Meta: { 'x-y': 'z' } }, { Meta: { 'x-y': 'z' } })).toBe(true);
    expect(deepEqual([], {})).toBe(false);
    expect(deepEqual({}, null)).toBe(false);
  });

  it('compares Dates, Maps and Sets', () => {
    expect(deepEqual(new Date(5), new Date(5))).toBe(true);
    expect(deepEqual(new Date(5), new Date(6))).toBe(false);
    expect(deepEqual(new Map([['a', { x: 1n }]]), new Map([['a', { x: 1n }]]))).toBe(true);
    expect(deepEqual(new Map([['a', 1]]), new Map([['a', 2]]))).toBe(false);
    expect(deepEqual(new Set(['a', 'b']), new Set(['b', 'a']))).toBe(true);
    expect(deepEqual(new Set(['a']), new Set(['b']))).toBe(false);
  });
});
