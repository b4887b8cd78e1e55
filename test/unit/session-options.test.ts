import { afterAll, describe, expect, it } from 'vitest';
import { Consul } from '../../src/client.js';
import { TimeoutError, ValidationError } from '../../src/errors.js';
import {
  FAST_FAILOVER,
  primitiveWatchOptions,
  resolveSessionOptions,
  resolveValue,
} from '../../src/primitives/session/session-options.js';
import {
  electionAclRules,
  lockAclRules,
  semaphoreAclRules,
} from '../../src/primitives/session/session-acl.js';
import { abortable, boundedSignal, delay, graceSignal } from '../../src/timing/index.js';
import {
  checksOutrunHolder,
  retryDelayMs,
  safetyMarginMs,
  sessionChecks,
} from '../../src/primitives/session/session-keeper.js';
import { validationField } from '../support/validation.js';

describe('resolveSessionOptions', () => {
  it('defaults to Go api.Lock: TTL 15s, Consul lock-delay 15s, no heartbeat', () => {
    expect(resolveSessionOptions({}, 'n')).toEqual({
      ttlMs: 15_000,
      lockDelayMs: 15_000,
      sessionName: 'n',
      checks: undefined,
      heartbeat: undefined,
      session: undefined,
      token: undefined,
    });
  });

  it('accepts durations as strings or milliseconds, within Consul bounds', () => {
    const resolved = resolveSessionOptions({ ttl: '10s', lockDelay: 0, sessionName: 'x', checks: [] }, 'n');
    expect(resolved).toMatchObject({ ttlMs: 10_000, lockDelayMs: 0, sessionName: 'x', checks: [] });
    expect(validationField(() => resolveSessionOptions({ ttl: '9s' }, 'n'))).toBe('ttl');
    expect(validationField(() => resolveSessionOptions({ ttl: '25h' }, 'n'))).toBe('ttl');
    expect(validationField(() => resolveSessionOptions({ lockDelay: '61s' }, 'n'))).toBe('lockDelay');
    expect(validationField(() => resolveSessionOptions({ lockDelay: 'soon' }, 'n'))).toBe('lockDelay');
    expect(validationField(() => resolveSessionOptions({ checks: [''] }, 'n'))).toBe('checks[0]');
    expect(validationField(() => resolveSessionOptions({ sessionName: '' }, 'n'))).toBe('sessionName');
  });

  it('resolves the heartbeat: 2s TTL, ttl/4 interval, the consulkit-session service', () => {
    expect(resolveSessionOptions({ heartbeat: true }, 'n').heartbeat).toEqual({
      ttlMs: 2_000,
      intervalMs: 500,
      serviceName: 'consulkit-session',
    });
    expect(
      resolveSessionOptions({ heartbeat: { ttl: '3s', interval: 1000, serviceName: 'hb' } }, 'n').heartbeat,
    ).toEqual({ ttlMs: 3_000, intervalMs: 1_000, serviceName: 'hb' });
    expect(resolveSessionOptions({ heartbeat: false }, 'n').heartbeat).toBeUndefined();
    expect(validationField(() => resolveSessionOptions({ heartbeat: { ttl: 500 } }, 'n'))).toBe(
      'heartbeat.ttl',
    );
    expect(
      validationField(() => resolveSessionOptions({ heartbeat: { ttl: '2s', interval: '1500ms' } }, 'n')),
    ).toBe('heartbeat.interval');
    expect(validationField(() => resolveSessionOptions({ heartbeat: { serviceName: 'a/b' } }, 'n'))).toBe(
      'heartbeat.serviceName',
    );
    expect(validationField(() => resolveSessionOptions({ heartbeat: true, session: 'abc' }, 'n'))).toBe(
      'heartbeat',
    );
  });

  it('FAST_FAILOVER is a frozen preset of a 2s heartbeat and a 1s lock-delay', () => {
    expect(Object.isFrozen(FAST_FAILOVER)).toBe(true);
    expect(resolveSessionOptions({ ...FAST_FAILOVER }, 'n')).toMatchObject({
      lockDelayMs: 1_000,
      heartbeat: { ttlMs: 2_000, intervalMs: 500 },
    });
  });

  it('values are bytes; anything else is refused', () => {
    expect(resolveValue(undefined).length).toBe(0);
    expect(resolveValue('hé').toString()).toBe('hé');
    expect(resolveValue(new Uint8Array([1, 2]))).toEqual(Buffer.from([1, 2]));
    expect(validationField(() => resolveValue(3 as unknown as string))).toBe('value');
  });

  it('primitive watches read consistently, with a short pace and a capped backoff, and fail on a 403', () => {
    expect(primitiveWatchOptions(undefined)).toEqual({
      consistency: 'consistent',
      wait: '15s',
      minInterval: 20,
      backoff: { maxDelay: '5s' },
      permissionDenied: 'fail',
    });
    expect(primitiveWatchOptions('t').token).toBe('t');
  });
});

describe('constructors validate before sending anything', () => {
  // An address where nothing listens: a request would fail, a ValidationError must come first.
  const consul = new Consul({ address: 'http://127.0.0.1:9', env: {} });
  afterAll(() => consul.close());

  it('lock: bad key or options', () => {
    expect(validationField(() => consul.lock(''))).toBe('key');
    expect(validationField(() => consul.lock('/abs'))).toBe('key');
    expect(validationField(() => consul.lock('k', { ttl: 1 }))).toBe('ttl');
    expect(validationField(() => consul.lock('k', { value: 1 as unknown as string }))).toBe('value');
  });

  it('semaphore: the limit must be a positive integer (Go TestAPI_SemaphoreBadLimit)', () => {
    expect(validationField(() => consul.semaphore('p', { limit: 0 }))).toBe('limit');
    expect(validationField(() => consul.semaphore('p', { limit: -1 }))).toBe('limit');
    expect(validationField(() => consul.semaphore('p', { limit: 1.5 }))).toBe('limit');
    expect(validationField(() => consul.semaphore('', { limit: 1 }))).toBe('prefix');
    expect(consul.semaphore('p/', { limit: 2 }).prefix).toBe('p');
  });

  it('election: bad key', () => {
    expect(validationField(() => consul.election(''))).toBe('key');
  });

  it('acquire: a bad timeout or signal is refused before any request', async () => {
    const lock = consul.lock('k');
    await expect(lock.acquire({ timeout: 'soon' })).rejects.toBeInstanceOf(ValidationError);
    await expect(lock.acquire({ signal: {} as AbortSignal })).rejects.toBeInstanceOf(ValidationError);
    expect(consul.stats().requests).toBe(0);
  });
});

describe('keeper timing', () => {
  it('takes a safety margin of 5% of the TTL, at most 500 ms', () => {
    expect(safetyMarginMs(2_000)).toBe(100);
    expect(safetyMarginMs(15_000)).toBe(500);
  });

  it('retries a failed renewal within the interval, at least 200 ms apart', () => {
    expect(retryDelayMs(5_000, 15_000)).toBe(1_500);
    expect(retryDelayMs(500, 2_000)).toBe(200);
    expect(retryDelayMs(100, 2_000)).toBe(100);
  });
});

describe('signal helpers', () => {
  it('boundedSignal aborts with a TimeoutError naming the operation', async () => {
    const bounded = boundedSignal('acquiring x', { timeout: 10 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(bounded.signal.aborted).toBe(true);
    expect(bounded.signal.reason).toBeInstanceOf(TimeoutError);
    expect(String(bounded.signal.reason)).toMatch(/acquiring x/);
    bounded.dispose();
  });

  it('boundedSignal follows the caller signal and internal ones', () => {
    const caller = new AbortController();
    const internal = new AbortController();
    const bounded = boundedSignal('x', { signal: caller.signal }, internal.signal);
    expect(bounded.signal.aborted).toBe(false);
    internal.abort(new Error('cancelled'));
    expect((bounded.signal.reason as Error).message).toBe('cancelled');
    bounded.dispose();
  });

  it('abortable rejects with the reason at once and still observes the promise', async () => {
    const controller = new AbortController();
    let reject!: (error: Error) => void;
    const pending = new Promise<never>((_, r) => (reject = r));
    const raced = abortable(pending, controller.signal);
    controller.abort(new Error('stop'));
    await expect(raced).rejects.toThrow('stop');
    reject(new Error('late'));
    await expect(abortable(Promise.resolve(1), new AbortController().signal)).resolves.toBe(1);
  });

  it('delay waits, or rejects when aborted', async () => {
    const controller = new AbortController();
    const waiting = delay(10_000, controller.signal);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    await expect(delay(1, new AbortController().signal)).resolves.toBeUndefined();
  });
});

describe('ACL rules', () => {
  it('a lock (and an election) needs write on its key and on sessions of the node', () => {
    expect(lockAclRules('jobs/x/.lock', 'node-1')).toBe(
      'key "jobs/x/.lock" { policy = "write" }\nsession "node-1" { policy = "write" }',
    );
    expect(electionAclRules('svc/leader', 'n')).toBe(lockAclRules('svc/leader', 'n'));
  });

  it('a semaphore needs write on its prefix; the heartbeat adds its service', () => {
    expect(semaphoreAclRules('batch/enc/', 'n', { heartbeat: true })).toBe(
      'key_prefix "batch/enc/" { policy = "write" }\nsession "n" { policy = "write" }\nservice "consulkit-session" { policy = "write" }',
    );
    expect(lockAclRules('k', 'n', { heartbeat: 'hb' })).toMatch(/service "hb"/);
    expect(validationField(() => lockAclRules('', 'n'))).toBe('key');
    expect(validationField(() => lockAclRules('k', ''))).toBe('node');
  });
});

describe('sessionChecks', () => {
  const lock = { lockDelayProtects: true } as const;
  const semaphore = { lockDelayProtects: false } as const;

  it('binds serfHealth to a lock only when the lock-delay covers the TTL', () => {
    expect(sessionChecks({ ...lock, ttlMs: 15_000, lockDelayMs: 15_000 })).toEqual(['serfHealth']);
    expect(sessionChecks({ ...lock, ttlMs: 15_000, lockDelayMs: 1_000 })).toEqual([]);
    expect(sessionChecks({ ...lock, ttlMs: 15_000, lockDelayMs: 0, checks: ['mine'] })).toEqual(['mine']);
    expect(sessionChecks({ ...lock, ttlMs: 15_000, lockDelayMs: 60_000, checks: [] })).toEqual([]);
  });

  it('never binds serfHealth to a semaphore by default: pruning frees slots whatever the lock-delay', () => {
    expect(sessionChecks({ ...semaphore, ttlMs: 15_000, lockDelayMs: 15_000 })).toEqual([]);
    expect(sessionChecks({ ...semaphore, ttlMs: 10_000, lockDelayMs: 60_000 })).toEqual([]);
    expect(sessionChecks({ ...semaphore, ttlMs: 15_000, lockDelayMs: 0, checks: ['mine'] })).toEqual([
      'mine',
    ]);
  });
});

describe('checksOutrunHolder', () => {
  it('warns of explicit checks that can free the hold before the holder notices', () => {
    const base = { ttlMs: 15_000, checks: ['mine'] };
    expect(checksOutrunHolder({ ...base, lockDelayMs: 15_000, lockDelayProtects: true })).toBe(false);
    expect(checksOutrunHolder({ ...base, lockDelayMs: 1_000, lockDelayProtects: true })).toBe(true);
    // No lock-delay covers a semaphore's pruning.
    expect(checksOutrunHolder({ ...base, lockDelayMs: 60_000, lockDelayProtects: false })).toBe(true);
    expect(checksOutrunHolder({ ttlMs: 15_000, lockDelayMs: 0, lockDelayProtects: false, checks: [] })).toBe(
      false,
    );
    expect(checksOutrunHolder({ ttlMs: 15_000, lockDelayMs: 0, lockDelayProtects: false })).toBe(false);
  });
});

describe('graceSignal', () => {
  it('aborts a grace period after its signal, or at once with another signal', async () => {
    const controller = new AbortController();
    const grace = graceSignal(controller.signal, 50);
    controller.abort(new Error('stop'));
    expect(grace.signal.aborted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(grace.signal.aborted).toBe(true);
    expect((grace.signal.reason as Error).message).toBe('stop');
    grace.dispose();

    const other = new AbortController();
    const withOther = graceSignal(new AbortController().signal, 10_000, other.signal);
    other.abort(new Error('session ended'));
    expect(withOther.signal.aborted).toBe(true);
    withOther.dispose();

    const disposed = new AbortController();
    const cleared = graceSignal(disposed.signal, 20);
    cleared.dispose();
    disposed.abort();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(cleared.signal.aborted).toBe(false);
  });
});
