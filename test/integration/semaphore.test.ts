/**
 * consul.semaphore against a real Consul: the scenarios of Go's api/semaphore_test.go
 * replayed (acquire/release, force-invalidate, delete the prefix, contention, bad limits and
 * limit conflicts, destroy, conflict with a lock, monitor retries through 5xx, one-shot), plus
 * pruning of dead holders and fencing tokens.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  ClosedError,
  ConflictError,
  LockLostError,
  SEMAPHORE_FLAGS,
  ValidationError,
} from '../../src/index.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { startHttpProxy } from '../support/http-proxy.js';
import { aborted, waitFor } from '../support/wait.js';

const clients = new Clients(sharedConsulAddress());
afterAll(() => clients.closeAll());

const fast = { ttl: '10s', lockDelay: 0 } as const;

describe('semaphore: Go TestAPI_SemaphoreAcquireRelease', () => {
  it('acquires, refuses a double acquire, releases idempotently, and writes Go layout', async () => {
    const consul = clients.create();
    const prefix = uniquePrefix('sem-basic');
    const sema = consul.semaphore(prefix, { limit: 2, ...fast, value: 'me' });
    await sema.release();
    await sema.acquire();
    expect(sema.held).toBe(true);
    const signal = sema.signal;
    await expect(sema.acquire()).rejects.toBeInstanceOf(ConflictError);

    const session = sema.sessionId as string;
    const lockPair = await consul.kv.get(`${prefix}/.lock`);
    expect(lockPair?.Flags).toBe(SEMAPHORE_FLAGS);
    expect(JSON.parse(String(lockPair?.Value))).toEqual({ Limit: 2, Holders: { [session]: true } });
    const contender = await consul.kv.get(`${prefix}/${session}`);
    expect(contender?.Session).toBe(session);
    expect(contender?.Flags).toBe(SEMAPHORE_FLAGS);
    expect(String(contender?.Value)).toBe('me');
    expect(sema.admissionIndex).toBe(lockPair?.ModifyIndex);
    // Limit 2: several legitimate holders at once, so no single number can fence.
    expect(sema.fencingToken).toBeUndefined();

    await sema.release();
    await sema.release();
    expect(signal.reason).toBeInstanceOf(ClosedError);
    expect(JSON.parse(String((await consul.kv.get(`${prefix}/.lock`))?.Value))).toEqual({
      Limit: 2,
      Holders: {},
    });
    expect(await consul.kv.get(`${prefix}/${session}`)).toBeUndefined();
  });
});

describe('semaphore: loss', () => {
  it('Go TestAPI_SemaphoreForceInvalidate: destroying the session loses the slot at once', async () => {
    const sema = await clients
      .create()
      .semaphore(uniquePrefix('sem-inv'), { limit: 2, ...fast })
      .acquire();
    await clients.create().session.destroy(sema.sessionId as string);
    expect(await aborted(sema.signal, 5_000)).toBeInstanceOf(LockLostError);
    await sema.release();
  });

  it('Go TestAPI_SemaphoreDeleteKey: deleting the prefix loses the slot', async () => {
    const prefix = uniquePrefix('sem-del');
    const sema = await clients
      .create()
      .semaphore(prefix, { limit: 2, ...fast })
      .acquire();
    await clients.create().kv.delete(`${prefix}/`, { recurse: true });
    expect(await aborted(sema.signal, 5_000)).toBeInstanceOf(LockLostError);
    await sema.release();
  });

  it('being removed from the holders is a loss', async () => {
    const prefix = uniquePrefix('sem-removed');
    const consul = clients.create();
    const sema = await consul.semaphore(prefix, { limit: 2, ...fast }).acquire();
    const pair = await consul.kv.get(`${prefix}/.lock`);
    await consul.kv.put(`${prefix}/.lock`, '{"Limit":2,"Holders":{}}', {
      cas: pair?.ModifyIndex ?? 0n,
      flags: SEMAPHORE_FLAGS,
    });
    const reason = await aborted(sema.signal, 5_000);
    expect(String((reason as Error).message)).toMatch(/removed from the semaphore holders/);
    await sema.release();
  });

  it('a coordination key overwritten with non-JSON under the same flags is a loss that says so', async () => {
    const prefix = uniquePrefix('sem-garbled');
    const consul = clients.create();
    const sema = await consul.semaphore(prefix, { limit: 2, ...fast }).acquire();
    await consul.kv.put(`${prefix}/.lock`, 'not json', { flags: SEMAPHORE_FLAGS });
    const reason = await aborted(sema.signal, 5_000);
    expect(reason).toBeInstanceOf(LockLostError);
    expect(String((reason as Error).message)).toMatch(
      /coordination key was overwritten: .*not hold valid JSON/,
    );
    await sema.release();
  });
});

describe('semaphore: contention', () => {
  it('Go TestAPI_SemaphoreContend: 4 contenders, limit 2, all acquire, never more than 2', async () => {
    const prefix = uniquePrefix('sem-contend');
    let inside = 0;
    let maxInside = 0;
    const tokens: bigint[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const sema = clients.create().semaphore(prefix, { limit: 2, ...fast });
        await sema.withLock(async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          tokens.push(sema.admissionIndex as bigint);
          await new Promise((resolve) => setTimeout(resolve, 100));
          inside--;
        });
      }),
    );
    expect(maxInside).toBeLessThanOrEqual(2);
    expect(maxInside).toBeGreaterThanOrEqual(1);
    expect(tokens).toHaveLength(4);
    // Each admission has its own index, increasing in admission order.
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
  });

  it('prunes a dead holder (its session invalidated) so that a waiter gets its slot', async () => {
    const prefix = uniquePrefix('sem-prune');
    const dead = await clients
      .create()
      .semaphore(prefix, { limit: 1, ...fast })
      .acquire();
    const waiter = clients.create().semaphore(prefix, { limit: 1, ...fast });
    const pending = waiter.acquire({ timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(waiter.held).toBe(false);
    // The holder vanishes without releasing: its entry stays in Holders until pruned.
    await clients.create().session.destroy(dead.sessionId as string);
    await pending;
    expect(waiter.held).toBe(true);
    const holders = Object.keys(
      JSON.parse(String((await clients.create().kv.get(`${prefix}/.lock`))?.Value)).Holders,
    );
    expect(holders).toEqual([waiter.sessionId]);
    await waiter.release();
    await dead.release();
  });
});

describe('semaphore: limits', () => {
  it('Go TestAPI_SemaphoreBadLimit: limit 0 is refused; a different limit conflicts', async () => {
    const consul = clients.create();
    const prefix = uniquePrefix('sem-limit');
    expect(() => consul.semaphore(prefix, { limit: 0 })).toThrow(ValidationError);
    const one = await consul.semaphore(prefix, { limit: 1, ...fast }).acquire();
    const two = clients.create().semaphore(prefix, { limit: 2, ...fast });
    await expect(two.acquire()).rejects.toThrow('semaphore limit conflict (lock: 1, local: 2)');
    await expect(two.acquire()).rejects.toBeInstanceOf(ConflictError);
    await one.release();
  });
});

describe('semaphore: destroy and conflicts', () => {
  it('Go TestAPI_SemaphoreDestroy: refuses while held or in use, then deletes', async () => {
    const prefix = uniquePrefix('sem-destroy');
    const a = clients.create().semaphore(prefix, { limit: 2, ...fast });
    const b = clients.create().semaphore(prefix, { limit: 2, ...fast });
    await a.acquire();
    await b.acquire();
    await expect(a.destroy()).rejects.toThrow(/held by this object/);
    await a.release();
    await expect(a.destroy()).rejects.toThrow(/in use/);
    await b.release();
    await a.destroy();
    expect(await clients.create().kv.get(`${prefix}/.lock`)).toBeUndefined();
    await b.destroy();
  });

  it('Go TestAPI_SemaphoreConflict: a semaphore on a locked prefix is refused (acquire and destroy)', async () => {
    const prefix = uniquePrefix('sem-conflict');
    const lock = await clients.create().lock(`${prefix}/.lock`, fast).acquire();
    const sema = clients.create().semaphore(prefix, { limit: 2, ...fast });
    await expect(sema.acquire()).rejects.toBeInstanceOf(ConflictError);
    expect(sema.held).toBe(false);
    await expect(sema.destroy()).rejects.toBeInstanceOf(ConflictError);
    await lock.release();
  });
});

describe('semaphore: one-shot (Go TestAPI_SemaphoreOneShot)', () => {
  it('the third contender of two slots gets false after its wait, then a slot once one is free', async () => {
    const prefix = uniquePrefix('sem-oneshot');
    const a = clients.create().semaphore(prefix, { limit: 2, ...fast });
    const b = clients.create().semaphore(prefix, { limit: 2, ...fast });
    const c = clients.create().semaphore(prefix, { limit: 2, ...fast });
    expect(await a.tryAcquire({ wait: 250 })).toBe(true);
    expect(await b.tryAcquire({ wait: 250 })).toBe(true);
    const started = performance.now();
    expect(await c.tryAcquire({ wait: 250 })).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    expect(await c.tryAcquire()).toBe(false);
    await b.release();
    expect(await c.tryAcquire({ wait: '5s' })).toBe(true);
    await Promise.all([a.release(), c.release()]);
  });
});

describe('semaphore: monitor rides out transient 5xx (Go TestAPI_SemaphoreMonitorRetry)', () => {
  it('keeps the slot through a few failed reads of the prefix', async () => {
    const proxy = await startHttpProxy(sharedConsulAddress());
    const throughProxy = clients.create({ address: proxy.url });
    try {
      const prefix = uniquePrefix('sem-monitor');
      const sema = await throughProxy.semaphore(prefix, { limit: 2, ...fast }).acquire();
      const errors: Error[] = [];
      sema.on('error', (error) => errors.push(error));
      proxy.failNext(6, (method, path) => method === 'GET' && path === `/v1/kv/${prefix}/`);
      // Another contender takes the second slot: the monitor wakes up into the failures.
      const another = await clients
        .create()
        .semaphore(prefix, { limit: 2, ...fast })
        .acquire();
      await waitFor('the injected failures', () => proxy.failed >= 6, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(sema.held).toBe(true);
      expect(errors.length).toBeGreaterThan(0);
      await another.release();
      await sema.release();
    } finally {
      await throughProxy.close();
      await proxy.close();
    }
  }, 30_000);
});

describe('semaphore: lost check-and-sets are retried', () => {
  it('two concurrent tryAcquire() on an empty limit-2 semaphore both get a slot, 15 rounds in a row', async () => {
    for (let round = 0; round < 15; round++) {
      const prefix = uniquePrefix(`sem-cas-${round}`);
      const pair = [
        clients.create().semaphore(prefix, { limit: 2, ...fast }),
        clients.create().semaphore(prefix, { limit: 2, ...fast }),
      ];
      const results = await Promise.all(pair.map((sema) => sema.tryAcquire()));
      expect(results).toEqual([true, true]);
      await Promise.all(pair.map((sema) => sema.release()));
    }
  }, 60_000);

  it('a one-shot try still answers false when the lost race filled the last slot', async () => {
    const prefix = uniquePrefix('sem-cas-full');
    const trio = Array.from({ length: 3 }, () => clients.create().semaphore(prefix, { limit: 2, ...fast }));
    const results = await Promise.all(trio.map((sema) => sema.tryAcquire()));
    expect(results.filter(Boolean)).toHaveLength(2);
    await Promise.all(trio.map((sema) => sema.release()));
  });
});

describe('semaphore: sessions and fencing', () => {
  it('sessions are never bound to serfHealth by default: pruning frees slots with no lock-delay', async () => {
    const consul = clients.create();
    // The defaults (TTL 15 s, lock-delay 15 s) would bind a lock's session to serfHealth.
    const sema = await consul.semaphore(uniquePrefix('sem-checks'), { limit: 1 }).acquire();
    const session = await consul.session.info(sema.sessionId as string);
    expect(session?.NodeChecks ?? []).toEqual([]);
    expect(session?.ServiceChecks ?? []).toEqual([]);
    expect(session?.Checks ?? []).toEqual([]);
    await sema.release();
  });

  it('a limit-1 semaphore has fencing tokens that increase across holders; a larger limit has none', async () => {
    const prefix = uniquePrefix('sem-fence');
    const first = await clients
      .create()
      .semaphore(prefix, { limit: 1, ...fast })
      .acquire();
    const firstToken = first.fencingToken;
    expect(firstToken).toBe(first.admissionIndex);
    expect(firstToken).toBe((await clients.create().kv.get(`${prefix}/.lock`))?.ModifyIndex);
    await first.release();
    const second = await clients
      .create()
      .semaphore(prefix, { limit: 1, ...fast })
      .acquire();
    expect(second.fencingToken! > firstToken!).toBe(true);
    await second.release();

    const wide = await clients
      .create()
      .semaphore(uniquePrefix('sem-fence-2'), { limit: 2, ...fast })
      .acquire();
    expect(wide.fencingToken).toBeUndefined();
    expect(typeof wide.admissionIndex).toBe('bigint');
    await wide.release();
  });
});
