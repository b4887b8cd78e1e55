import { describe, expect, it } from 'vitest';
import type { KVPair } from '../../src/api/kv.js';
import { ConflictError } from '../../src/errors.js';
import {
  acceptsFencingToken,
  admissionFencingToken,
  lockFencingToken,
} from '../../src/primitives/session/fencing.js';
import {
  COORDINATION_KEY,
  describeFlags,
  LOCK_FLAGS,
  SEMAPHORE_FLAGS,
} from '../../src/primitives/session/key-flags.js';
import { holdsLock, lockLossReason, planLock } from '../../src/primitives/session/lock-state.js';

function pair(fields: Partial<KVPair> = {}): KVPair {
  return {
    Key: 'jobs/x/.lock',
    CreateIndex: 10n,
    ModifyIndex: 12n,
    LockIndex: 1n,
    Flags: LOCK_FLAGS,
    Value: Buffer.alloc(0),
    ...fields,
  };
}

describe('lock flags (interop with consul lock / Go api)', () => {
  it('are the exact uint64 values of Go api.LockFlagValue and api.SemaphoreFlagValue', () => {
    expect(LOCK_FLAGS).toBe(3304740253564472344n);
    expect(SEMAPHORE_FLAGS).toBe(16210313421097356768n);
    expect(COORDINATION_KEY).toBe('.lock');
  });

  it('describes flags for error messages', () => {
    expect(describeFlags(LOCK_FLAGS)).toMatch(/a lock/);
    expect(describeFlags(SEMAPHORE_FLAGS)).toMatch(/a semaphore/);
    expect(describeFlags(0n)).toMatch(/flags 0\)/);
    expect(describeFlags(255n)).toMatch(/0xff/);
  });
});

describe('planLock', () => {
  it('is free when the key does not exist or no session holds it', () => {
    expect(planLock(undefined, 's1')).toEqual({ kind: 'free' });
    expect(planLock(pair(), 's1')).toEqual({ kind: 'free' });
  });

  it('is busy when another session holds the key', () => {
    expect(planLock(pair({ Session: 's2' }), 's1')).toEqual({ kind: 'busy', holder: 's2' });
  });

  it('is held again by the same session (reclaim), with the key index as token', () => {
    expect(planLock(pair({ Session: 's1', ModifyIndex: 99n }), 's1')).toEqual({ kind: 'held', token: 99n });
  });

  it('refuses a key with other flags (a semaphore, or plain data) with ConflictError', () => {
    expect(() => planLock(pair({ Flags: SEMAPHORE_FLAGS }), 's1')).toThrow(ConflictError);
    expect(() => planLock(pair({ Flags: 0n }), 's1')).toThrow(/not a lock/);
  });
});

describe('holdsLock and lockLossReason', () => {
  it('holds only while the key names the session with the lock flags', () => {
    expect(holdsLock(pair({ Session: 's1' }), 's1')).toBe(true);
    expect(holdsLock(pair({ Session: 's2' }), 's1')).toBe(false);
    expect(holdsLock(pair(), 's1')).toBe(false);
    expect(holdsLock(undefined, 's1')).toBe(false);
    // Only the session counts (Go's monitor): a plain write that resets the flags keeps the lock.
    expect(holdsLock(pair({ Session: 's1', Flags: 0n }), 's1')).toBe(true);
  });

  it('names why the lock is gone', () => {
    expect(lockLossReason(undefined, 's1')).toMatch(/deleted/);
    expect(lockLossReason(pair({ Session: 's2' }), 's1')).toMatch(/taken over by session s2/);
    expect(lockLossReason(pair(), 's1')).toMatch(/released/);
  });
});

describe('fencing tokens', () => {
  it('a lock token is the index the acquire wrote, only when the entry names the session', () => {
    expect(lockFencingToken(pair({ Session: 's1', ModifyIndex: 40n }), 's1')).toBe(40n);
    expect(lockFencingToken(pair({ Session: 's2', ModifyIndex: 40n }), 's1')).toBeUndefined();
    expect(lockFencingToken(undefined, 's1')).toBeUndefined();
  });

  it('a semaphore token is the index of the admitting write', () => {
    expect(admissionFencingToken(pair({ ModifyIndex: 77n }))).toBe(77n);
  });

  it('a resource accepts equal or larger tokens and refuses older ones', () => {
    expect(acceptsFencingToken(undefined, 5n)).toBe(true);
    expect(acceptsFencingToken(5n, 5n)).toBe(true);
    expect(acceptsFencingToken(5n, 6n)).toBe(true);
    expect(acceptsFencingToken(6n, 5n)).toBe(false);
  });
});
