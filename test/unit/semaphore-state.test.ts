import { describe, expect, it } from 'vitest';
import type { KVPair } from '../../src/api/kv.js';
import { ConflictError } from '../../src/errors.js';
import { LOCK_FLAGS, SEMAPHORE_FLAGS } from '../../src/primitives/session/key-flags.js';
import {
  contenderKey,
  coordinationKey,
  decodeSemaphoreState,
  encodeSemaphoreState,
  holdsSlot,
  liveHolders,
  planSemaphore,
  pruneDeadHolders,
  withoutHolder,
} from '../../src/primitives/session/semaphore-state.js';
import { normalizeSemaphorePrefix } from '../../src/primitives/session/semaphore.js';

const prefix = 'batch/encoders';
const layout = { prefix, limit: 2 };

function entry(key: string, fields: Partial<KVPair> = {}): KVPair {
  return {
    Key: key,
    CreateIndex: 1n,
    ModifyIndex: 1n,
    LockIndex: 0n,
    Flags: SEMAPHORE_FLAGS,
    Value: Buffer.alloc(0),
    ...fields,
  };
}

function lockEntry(holders: string[], fields: Partial<KVPair> = {}): KVPair {
  return entry(coordinationKey(prefix), {
    ModifyIndex: 50n,
    Value: encodeSemaphoreState({ limit: 2, holders: new Set(holders) }),
    ...fields,
  });
}

function contender(session: string, alive = true): KVPair {
  return entry(contenderKey(prefix, session), alive ? { Session: session } : {});
}

describe('semaphore state encoding (Go api.Semaphore JSON)', () => {
  it('encodes like Go json.Marshal: Limit then Holders, holders sorted, true values', () => {
    const encoded = encodeSemaphoreState({ limit: 3, holders: new Set(['b', 'a']) }).toString();
    expect(encoded).toBe('{"Limit":3,"Holders":{"a":true,"b":true}}');
    expect(encodeSemaphoreState({ limit: 1, holders: new Set() }).toString()).toBe(
      '{"Limit":1,"Holders":{}}',
    );
  });

  it('decodes what Go writes, including null holders, and an empty value as an empty semaphore', () => {
    expect(decodeSemaphoreState(Buffer.from('{"Limit":2,"Holders":{"x":true}}'), 9)).toEqual({
      limit: 2,
      holders: new Set(['x']),
    });
    expect(decodeSemaphoreState(Buffer.from('{"Limit":2,"Holders":null}'), 9).holders.size).toBe(0);
    expect(decodeSemaphoreState(Buffer.alloc(0), 4)).toEqual({ limit: 4, holders: new Set() });
    // Go treats Holders as a set: presence counts, whatever the value.
    expect(decodeSemaphoreState(Buffer.from('{"Limit":2,"Holders":{"x":false}}'), 2).holders.has('x')).toBe(
      true,
    );
  });

  it('rejects values that are not the semaphore JSON with ConflictError', () => {
    expect(() => decodeSemaphoreState(Buffer.from('not json'), 2)).toThrow(ConflictError);
    expect(() => decodeSemaphoreState(Buffer.from('[1]'), 2)).toThrow(ConflictError);
    expect(() => decodeSemaphoreState(Buffer.from('{"Limit":"2"}'), 2)).toThrow(/Limit/);
    expect(() => decodeSemaphoreState(Buffer.from('{"Limit":2,"Holders":[]}'), 2)).toThrow(/Holders/);
  });
});

describe('pruning dead holders', () => {
  it('keeps holders whose session still holds a key under the prefix', () => {
    const pairs = [lockEntry(['a', 'b']), contender('a'), contender('b', false)];
    expect(pruneDeadHolders(new Set(['a', 'b']), pairs)).toEqual(new Set(['a']));
  });
});

describe('planSemaphore', () => {
  it('enters first: the contender key must exist with our session', () => {
    expect(planSemaphore([], layout, 's1')).toEqual({ kind: 'enter' });
    expect(planSemaphore([contender('s1', false)], layout, 's1')).toEqual({ kind: 'enter' });
  });

  it('admits with check-and-set 0 when the coordination key does not exist', () => {
    const plan = planSemaphore([contender('s1')], layout, 's1');
    expect(plan.kind).toBe('admit');
    if (plan.kind !== 'admit') return;
    expect(plan.casIndex).toBe(0n);
    expect(plan.value.toString()).toBe('{"Limit":2,"Holders":{"s1":true}}');
  });

  it('admits on the current index, pruning dead holders from the new value', () => {
    const pairs = [lockEntry(['dead', 'a']), contender('a'), contender('s1')];
    const plan = planSemaphore(pairs, layout, 's1');
    expect(plan).toEqual({
      kind: 'admit',
      casIndex: 50n,
      value: Buffer.from('{"Limit":2,"Holders":{"a":true,"s1":true}}'),
    });
  });

  it('waits when every slot is taken by a live holder', () => {
    const pairs = [lockEntry(['a', 'b']), contender('a'), contender('b'), contender('s1')];
    expect(planSemaphore(pairs, layout, 's1')).toEqual({ kind: 'full' });
  });

  it('lets a session that already holds a slot take it again (reclaim) even when full', () => {
    const pairs = [lockEntry(['a', 's1']), contender('a'), contender('s1')];
    expect(planSemaphore(pairs, layout, 's1').kind).toBe('admit');
  });

  it('refuses a coordination key of a lock (consul lock without -n) and a different limit', () => {
    const asLock = [lockEntry([], { Flags: LOCK_FLAGS }), contender('s1')];
    expect(() => planSemaphore(asLock, layout, 's1')).toThrow(/not a semaphore/);
    const otherLimit = [lockEntry([], { Value: Buffer.from('{"Limit":1,"Holders":{}}') }), contender('s1')];
    expect(() => planSemaphore(otherLimit, layout, 's1')).toThrow(
      'semaphore limit conflict (lock: 1, local: 2)',
    );
  });
});

describe('holdsSlot, withoutHolder, liveHolders', () => {
  it('holds while listed and alive; not when pruned, removed, or the key is gone or foreign', () => {
    expect(holdsSlot([lockEntry(['s1']), contender('s1')], layout, 's1')).toBe(true);
    expect(holdsSlot([lockEntry(['s1']), contender('s1', false)], layout, 's1')).toBe(false);
    expect(holdsSlot([lockEntry([]), contender('s1')], layout, 's1')).toBe(false);
    expect(holdsSlot([contender('s1')], layout, 's1')).toBe(false);
    expect(holdsSlot([lockEntry(['s1'], { Flags: 0n }), contender('s1')], layout, 's1')).toBe(false);
    expect(
      holdsSlot([lockEntry(['s1'], { Value: Buffer.from('garbage') }), contender('s1')], layout, 's1'),
    ).toBe(false);
  });

  it('removes a holder, keeping the others as they are', () => {
    expect(withoutHolder(lockEntry(['a', 's1']), layout, 's1')?.toString()).toBe(
      '{"Limit":2,"Holders":{"a":true}}',
    );
    expect(withoutHolder(lockEntry(['a']), layout, 's1')).toBeUndefined();
    expect(() => withoutHolder(lockEntry(['s1'], { Flags: LOCK_FLAGS }), layout, 's1')).toThrow(
      ConflictError,
    );
  });

  it('counts live holders for destroy()', () => {
    expect(liveHolders([], layout).size).toBe(0);
    expect(liveHolders([lockEntry(['a', 'b']), contender('a')], layout)).toEqual(new Set(['a']));
  });
});

describe('normalizeSemaphorePrefix', () => {
  it('strips trailing slashes and refuses empty or absolute prefixes', () => {
    expect(normalizeSemaphorePrefix('a/b/')).toBe('a/b');
    expect(normalizeSemaphorePrefix('a')).toBe('a');
    expect(() => normalizeSemaphorePrefix('')).toThrow(/prefix/);
    expect(() => normalizeSemaphorePrefix('/')).toThrow(/prefix/);
    expect(() => normalizeSemaphorePrefix('/a')).toThrow(/must not start/);
    expect(() => normalizeSemaphorePrefix(3)).toThrow(/string/);
  });
});
