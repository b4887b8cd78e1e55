import { describe, expect, it } from 'vitest';
import { nextIndex } from '../../src/watch/index-rules.js';

describe('nextIndex (raft)', () => {
  it('takes the index of the first answer', () => {
    expect(nextIndex(0n, 42n, 'raft')).toBe(42n);
  });

  it('follows an index that moves forward or stays', () => {
    expect(nextIndex(42n, 57n, 'raft')).toBe(57n);
    expect(nextIndex(42n, 42n, 'raft')).toBe(42n);
  });

  it('resets to 1 (never 0 after a read) when the index goes backwards (issue 10, item 5)', () => {
    expect(nextIndex(500n, 12n, 'raft')).toBe(1n);
    expect(nextIndex(2n, 1n, 'raft')).toBe(1n);
    expect(nextIndex(5n, 0n, 'raft')).toBe(1n);
  });

  it('keeps sending index=1 to a server stuck at index 0, not alternating with plain reads', () => {
    let index = nextIndex(0n, 7n, 'raft');
    const sent: bigint[] = [];
    for (let i = 0; i < 4; i++) {
      index = nextIndex(index, 0n, 'raft');
      sent.push(index);
    }
    expect(sent).toEqual([1n, 1n, 1n, 1n]);
  });

  it('clamps an index of 0 to 1 after a read, so the next read still blocks', () => {
    expect(nextIndex(0n, 0n, 'raft')).toBe(1n);
  });

  it('gives 0 (a plain read) when the answer carries no index', () => {
    expect(nextIndex(42n, undefined, 'raft')).toBe(0n);
  });

  it('keeps uint64 indexes above 2^53 exact', () => {
    const big = 2n ** 63n + 7n;
    expect(nextIndex(big - 1n, big, 'raft')).toBe(big);
  });
});

describe('nextIndex (opaque, /v1/event/list)', () => {
  it('takes a smaller index as it is: the value is a hash, not a position', () => {
    expect(nextIndex(0xffff_0000_0000_0000n, 12345n, 'opaque')).toBe(12345n);
  });

  it('still clamps 0 to 1 and treats a missing index as a plain read', () => {
    expect(nextIndex(99n, 0n, 'opaque')).toBe(1n);
    expect(nextIndex(99n, undefined, 'opaque')).toBe(0n);
  });
});
