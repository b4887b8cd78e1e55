/**
 * consul.lock against a real Consul: the scenarios of Go's api/lock_test.go replayed
 * (lock/unlock, double lock, force-invalidate, delete the key, contention, destroy, conflict
 * with a semaphore, reclaim with the same session, monitor retries through 5xx, one-shot
 * tries), plus lock-delay, fencing tokens, withLock, disposal and the heartbeat setting.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  ClosedError,
  ConflictError,
  FAST_FAILOVER,
  LOCK_FLAGS,
  LockLostError,
  TimeoutError,
  type Lock,
} from '../../src/index.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniqueName, uniquePrefix } from '../support/consul.js';
import { startSlowAnswers } from '../fixtures/lock-slow-answers.js';
import { startHttpProxy } from '../support/http-proxy.js';
import { aborted, waitFor } from '../support/wait.js';

const clients = new Clients(sharedConsulAddress());
afterAll(() => clients.closeAll());

// Short sessions and no lock-delay keep the file fast; tests about those settings set them.
const fast = { ttl: '10s', lockDelay: 0 } as const;

function key(name: string): string {
  return `${uniquePrefix(`lock-${name}`)}/.lock`;
}

async function sessionExists(id: string): Promise<boolean> {
  return (await clients.create().session.info(id)) !== undefined;
}

describe('lock: Go TestLock_LockUnlock', () => {
  it('acquires, refuses a double acquire, releases idempotently, and its signal follows', async () => {
    const consul = clients.create();
    const k = key('unlock');
    const lock = consul.lock(k, fast);
    const events: string[] = [];
    lock.on('acquired', (token) => events.push(`acquired:${typeof token}`));
    lock.on('released', () => events.push('released'));
    lock.on('lost', () => events.push('lost'));

    expect(lock.held).toBe(false);
    expect(lock.signal.aborted).toBe(true);
    await lock.release(); // nothing held: a no-op, not an error

    await expect(lock.acquire()).resolves.toBe(lock);
    expect(lock.held).toBe(true);
    const signal = lock.signal;
    expect(signal.aborted).toBe(false);
    expect(typeof lock.fencingToken).toBe('bigint');

    await expect(lock.acquire()).rejects.toBeInstanceOf(ConflictError);
    await expect(lock.tryAcquire()).rejects.toBeInstanceOf(ConflictError);

    const pair = await consul.kv.get(k);
    expect(pair?.Session).toBe(lock.sessionId);
    expect(pair?.Flags).toBe(LOCK_FLAGS);
    const session = lock.sessionId as string;

    await lock.release();
    await lock.release();
    expect(lock.held).toBe(false);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(ClosedError);
    expect((await consul.kv.get(k))?.Session).toBeUndefined();
    // The session it created is destroyed.
    expect(await sessionExists(session)).toBe(false);
    expect(events).toEqual(['acquired:bigint', 'released']);
  });
});

describe('lock: loss is signalled at once', () => {
  it('Go TestLock_ForceInvalidate: destroying the session aborts the signal with LockLostError', async () => {
    const consul = clients.create();
    const lock = await consul.lock(key('invalidate'), fast).acquire();
    const lost = new Promise<Error>((resolve) => lock.once('lost', resolve));
    await clients.create().session.destroy(lock.sessionId as string);
    const reason = await aborted(lock.signal, 5_000);
    expect(reason).toBeInstanceOf(LockLostError);
    expect(await lost).toBe(reason);
    expect(lock.held).toBe(false);
    await lock.release();
  });

  it('Go TestLock_DeleteKey: deleting the key aborts the signal', async () => {
    const consul = clients.create();
    const k = key('delete');
    const lock = await consul.lock(k, fast).acquire();
    await clients.create().kv.delete(k);
    const reason = await aborted(lock.signal, 5_000);
    expect(reason).toBeInstanceOf(LockLostError);
    expect(String((reason as Error).message)).toMatch(/deleted/);
    // After a loss the lock can be acquired again, with a larger fencing token.
    const first = await clients.create().kv.get(k);
    expect(first).toBeUndefined();
    await lock.acquire();
    expect(lock.held).toBe(true);
    await lock.release();
  });

  it('a takeover by another session (after a forced release) is a loss', async () => {
    const consul = clients.create();
    const k = key('takeover');
    const lock = await consul.lock(k, fast).acquire();
    const other = clients.create();
    const intruder = await other.session.create({ TTL: '10s', LockDelay: 0 });
    // An operator releases the lock on the holder's behalf, then another session takes it.
    await other.kv.put(k, '', { release: lock.sessionId as string, flags: LOCK_FLAGS });
    await other.kv.put(k, '', { acquire: intruder, flags: LOCK_FLAGS });
    const reason = await aborted(lock.signal, 5_000);
    expect(reason).toBeInstanceOf(LockLostError);
    await lock.release();
    await other.session.destroy(intruder);
  });
});

describe('lock: contention', () => {
  it('Go TestLock_Contend: several clients all eventually acquire, one at a time', async () => {
    const k = key('contend');
    let inside = 0;
    let maxInside = 0;
    const order: bigint[] = [];
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        const lock = clients.create().lock(k, fast);
        await lock.withLock(async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          order.push(lock.fencingToken as bigint);
          await new Promise((resolve) => setTimeout(resolve, 50));
          inside--;
        });
      }),
    );
    expect(maxInside).toBe(1);
    expect(order).toHaveLength(3);
    expect([...order].sort((a, b) => (a < b ? -1 : 1))).toEqual(order);
  });

  it('many clients × many rounds: never two holders, fencing tokens strictly increase', async () => {
    const k = key('rounds');
    const contenders = 5;
    const rounds = 4;
    let inside = 0;
    let violations = 0;
    let highest: bigint | undefined;
    const tokens: bigint[] = [];
    await Promise.all(
      Array.from({ length: contenders }, async () => {
        const lock = clients.create().lock(k, fast);
        for (let round = 0; round < rounds; round++) {
          await lock.withLock(async (signal) => {
            inside++;
            if (inside !== 1) violations++;
            const token = lock.fencingToken as bigint;
            // The protected resource: refuses a token below the highest it accepted.
            if (highest !== undefined && token <= highest) violations++;
            highest = token;
            tokens.push(token);
            await new Promise((resolve) => setTimeout(resolve, 5));
            expect(signal.aborted).toBe(false);
            inside--;
          });
        }
      }),
    );
    expect(violations).toBe(0);
    expect(tokens).toHaveLength(contenders * rounds);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
  });
});

describe('lock: destroy and conflicts', () => {
  it('Go TestLock_Destroy: refuses while held or in use, then deletes, twice', async () => {
    const k = key('destroy');
    const lock = clients.create().lock(k, fast);
    await lock.acquire();
    await expect(lock.destroy()).rejects.toThrow(/held by this object/);
    await lock.release();

    const l2 = clients.create().lock(k, fast);
    await l2.acquire();
    await expect(lock.destroy()).rejects.toThrow(/in use/);
    await l2.release();

    await lock.destroy();
    expect(await clients.create().kv.get(k)).toBeUndefined();
    await l2.destroy();
  });

  it('Go TestLock_Conflict: a lock on a semaphore prefix is refused (acquire and destroy)', async () => {
    const prefix = uniquePrefix('lock-conflict');
    const sema = clients.create().semaphore(prefix, { limit: 2, ...fast });
    await sema.acquire();
    const lock = clients.create().lock(`${prefix}/.lock`, fast);
    await expect(lock.acquire()).rejects.toBeInstanceOf(ConflictError);
    expect(lock.held).toBe(false);
    await expect(lock.destroy()).rejects.toBeInstanceOf(ConflictError);
    await sema.release();
  });

  it('a key holding plain data is refused with ConflictError and left untouched', async () => {
    const consul = clients.create();
    const k = key('plain');
    await consul.kv.put(k, 'config');
    await expect(consul.lock(k, fast).acquire()).rejects.toThrow(/not a lock/);
    expect(String((await consul.kv.get(k))?.Value)).toBe('config');
    // No session is left behind by the failed acquisition.
    const sessions = await consul.session.list();
    expect(sessions.filter((session) => session.Name === `consulkit lock ${k}`)).toEqual([]);
  });
});

describe('lock: reclaim with the same session (Go TestLock_ReclaimLock)', () => {
  it('a second lock with the same session holds at once; releasing it is seen by both', async () => {
    const consul = clients.create();
    const k = key('reclaim');
    const session = await consul.session.create({ TTL: '10s', LockDelay: 0 });
    try {
      const first = await consul.lock(k, { session }).acquire();
      const second = consul.lock(k, { session });
      await expect(second.acquire({ timeout: 2_000 })).resolves.toBe(second);
      expect(second.fencingToken).toBe(first.fencingToken);
      await second.release();
      const reason = await aborted(first.signal, 5_000);
      expect(reason).toBeInstanceOf(LockLostError);
      // A session given by the caller is not destroyed.
      expect(await sessionExists(session)).toBe(true);
      await first.release();
    } finally {
      await consul.session.destroy(session);
    }
  });
});

describe('lock: one-shot tries (Go LockTryOnce)', () => {
  it('tryAcquire answers at once, or after its wait bound, and succeeds once free', async () => {
    const k = key('try');
    const holder = await clients.create().lock(k, fast).acquire();
    const other = clients.create().lock(k, fast);
    expect(await other.tryAcquire()).toBe(false);
    const started = performance.now();
    expect(await other.tryAcquire({ wait: 250 })).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    expect(other.held).toBe(false);
    await holder.release();
    expect(await other.tryAcquire({ wait: '5s' })).toBe(true);
    expect(other.held).toBe(true);
    await other.release();
  });
});

describe('lock: acquisition bounds', () => {
  it('acquire({ timeout }) rejects with TimeoutError and cleans up its session', async () => {
    const consul = clients.create();
    const k = key('timeout');
    const holder = await clients.create().lock(k, fast).acquire();
    const waiter = consul.lock(k, fast);
    await expect(waiter.acquire({ timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
    expect(waiter.held).toBe(false);
    const sessions = await consul.session.list();
    expect(sessions.filter((session) => session.Name === `consulkit lock ${k}`)).toHaveLength(1);
    await holder.release();
  });

  it('acquire({ signal }) rejects with the reason; release() cancels a pending acquire', async () => {
    const k = key('abort');
    const holder = await clients.create().lock(k, fast).acquire();
    const waiter = clients.create().lock(k, fast);
    const controller = new AbortController();
    const pending = waiter.acquire({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user gave up')), 100);
    await expect(pending).rejects.toThrow('user gave up');

    const again = waiter.acquire();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await waiter.release();
    await expect(again).rejects.toBeInstanceOf(ClosedError);
    await holder.release();
  });
});

describe('lock: lock-delay', () => {
  it('after an invalidation, waits out the lock-delay (without spinning), then acquires', async () => {
    const k = key('delay');
    const holder = await clients.create().lock(k, { ttl: '10s', lockDelay: '2s' }).acquire();
    const waiterClient = clients.create();
    const waiter = waiterClient.lock(k, fast);
    const pending = waiter.acquire({ timeout: 15_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = waiterClient.stats().requests;
    const invalidatedAt = performance.now();
    await clients.create().session.destroy(holder.sessionId as string);
    await pending;
    const waited = performance.now() - invalidatedAt;
    expect(waited).toBeGreaterThanOrEqual(1_900);
    // ~2 s of retries with a capped backoff: a handful of requests, not a spin.
    expect(waiterClient.stats().requests - before).toBeLessThan(40);
    await waiter.release();
    await holder.release();
  });

  it('a release (unlike an invalidation) leaves no lock-delay, even with the 15 s default', async () => {
    const k = key('nodelay');
    const holder = await clients.create().lock(k, { ttl: '10s' }).acquire();
    const waiter = clients.create().lock(k, { ttl: '10s' });
    const pending = waiter.acquire({ timeout: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await holder.release();
    await pending;
    expect(waiter.held).toBe(true);
    await waiter.release();
  });
});

describe('lock: fencing tokens', () => {
  it('strictly increase across holders, also after the key is deleted and recreated', async () => {
    const consul = clients.create();
    const k = key('fence');
    const tokens: bigint[] = [];
    for (let round = 0; round < 3; round++) {
      const lock = await consul.lock(k, fast).acquire();
      tokens.push(lock.fencingToken as bigint);
      const pair = await consul.kv.get(k);
      // The token is the index the acquire wrote.
      expect(pair?.ModifyIndex).toBe(lock.fencingToken);
      await lock.release();
      await consul.kv.delete(k);
    }
    // LockIndex starts over for a recreated key, which is why it is not the token.
    const fresh = await consul.lock(k, fast).acquire();
    expect((await consul.kv.get(k))?.LockIndex).toBe(1n);
    tokens.push(fresh.fencingToken as bigint);
    await fresh.release();
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
  });
});

describe('lock: withLock, disposal, close', () => {
  it('withLock returns the result, releases, and rethrows the task error after releasing', async () => {
    const consul = clients.create();
    const k = key('with');
    const lock = consul.lock(k, { ...fast, value: 'worker-1' });
    const result = await lock.withLock(async (signal) => {
      expect(signal.aborted).toBe(false);
      expect(String((await consul.kv.get(k))?.Value)).toBe('worker-1');
      return 42;
    });
    expect(result).toBe(42);
    expect(lock.held).toBe(false);
    await expect(
      lock.withLock(() => {
        throw new Error('task failed');
      }),
    ).rejects.toThrow('task failed');
    expect(lock.held).toBe(false);
    expect((await consul.kv.get(k))?.Session).toBeUndefined();
  });

  it('withLock rejects with LockLostError when the lock is lost mid-task, and the task signal aborted', async () => {
    const consul = clients.create();
    const k = key('withlost');
    const lock = consul.lock(k, fast);
    let taskSignal: AbortSignal | undefined;
    const outcome = lock.withLock(async (signal) => {
      taskSignal = signal;
      await consul.kv.delete(k);
      await aborted(signal, 5_000);
      return 'finished anyway';
    });
    await expect(outcome).rejects.toBeInstanceOf(LockLostError);
    expect(taskSignal?.reason).toBeInstanceOf(LockLostError);
  });

  it('await using releases the lock at the end of the scope', async () => {
    const consul = clients.create();
    const k = key('using');
    {
      await using held = await consul.lock(k, fast).acquire();
      expect(held.held).toBe(true);
    }
    expect((await consul.kv.get(k))?.Session).toBeUndefined();
  });

  it('consul.close() releases a held lock and destroys its session; the lock then refuses', async () => {
    const consul = clients.create();
    const k = key('close');
    const lock = await consul.lock(k, fast).acquire();
    const session = lock.sessionId as string;
    await consul.close();
    expect(lock.signal.aborted).toBe(true);
    const observer = clients.create();
    expect((await observer.kv.get(k))?.Session).toBeUndefined();
    expect(await sessionExists(session)).toBe(false);
    await expect(lock.acquire()).rejects.toBeInstanceOf(ClosedError);
  });

  it('renews the session: held past a full TTL', async () => {
    const lock = await clients.create().lock(key('renew'), fast).acquire();
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect(lock.held).toBe(true);
    expect(lock.signal.aborted).toBe(false);
    await lock.release();
  }, 30_000);
});

describe('lock: monitor rides out transient 5xx (Go TestAPI_LockMonitorRetry)', () => {
  it('keeps the lock through a few failed reads, gives it up when it cannot confirm it for a TTL', async () => {
    const proxy = await startHttpProxy(sharedConsulAddress());
    const throughProxy = clients.create({ address: proxy.url });
    try {
      const k = key('monitor');
      const lock = await throughProxy.lock(k, fast).acquire();
      const errors: Error[] = [];
      lock.on('error', (error) => errors.push(error));
      const isKeyRead = (method: string, path: string): boolean => method === 'GET' && path === `/v1/kv/${k}`;

      // Wake the monitor (a plain write keeps the lock) while its next reads fail: more
      // failures than the transport retries on its own, so that the watch sees them.
      proxy.failNext(6, isKeyRead);
      await clients.create().kv.put(k, 'poke', { flags: LOCK_FLAGS });
      await waitFor('the injected failures', () => proxy.failed >= 6, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(lock.held).toBe(true);
      expect(errors.length).toBeGreaterThan(0);

      // Now every read of the key fails for longer than the TTL.
      proxy.failNext(Number.POSITIVE_INFINITY, isKeyRead);
      await clients.create().kv.put(k, 'poke again', { flags: LOCK_FLAGS });
      const reason = await aborted(lock.signal, 20_000);
      expect(reason).toBeInstanceOf(LockLostError);
      expect(String((reason as Error).message)).toMatch(/could not be confirmed/);
      proxy.heal();
      await lock.release();
    } finally {
      await throughProxy.close();
      await proxy.close();
    }
  }, 40_000);
});

describe('lock: fast-failover heartbeat', () => {
  it('binds the session to a heartbeated service check and removes it on release', async () => {
    const consul = clients.create();
    const lock: Lock = await consul.lock(key('heartbeat'), { ...FAST_FAILOVER }).acquire();
    const session = await consul.session.info(lock.sessionId as string);
    const checkId = session?.ServiceChecks?.[0]?.ID;
    expect(checkId).toMatch(/^consulkit-session-/);
    // Only the guarded heartbeat check, sent as ServiceChecks: the legacy Checks list would make
    // Consul 1.8 add serfHealth, which with a 1 s lock-delay could invalidate the session before
    // the holder notices (see sessionChecks).
    expect(session?.ServiceChecks?.map((check) => check.ID)).toEqual([checkId]);
    expect(session?.NodeChecks ?? []).toEqual([]);
    expect(session?.Checks ?? []).toEqual([]);
    expect(session?.LockDelay).toBe(1_000_000_000);
    const checks = await consul.agent.check.list();
    expect(checks[checkId as string]?.Status).toBe('passing');
    // Heartbeats keep it passing past its 2 s TTL.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(lock.held).toBe(true);
    expect((await consul.agent.check.list())[checkId as string]?.Status).toBe('passing');
    await lock.release();
    expect((await consul.agent.check.list())[checkId as string]).toBeUndefined();
  });
});

describe('lock: each acquisition has its own release', () => {
  /**
   * A lock whose session destroys are answered 1 s late, so that the first release is still
   * running when the second acquisition completes (the window of the race).
   */
  async function slowReleaser(name: string): Promise<{ lock: Lock; key: string; close(): Promise<void> }> {
    const relay = await startSlowAnswers(sharedConsulAddress());
    relay.slow((method, path) => method === 'PUT' && path.startsWith('/v1/session/destroy/'), 1_000);
    const k = key(name);
    return { lock: clients.create({ address: relay.url }).lock(k, fast), key: k, close: () => relay.close() };
  }

  it('release() not awaited, acquire(), release(): the second release releases the second term', async () => {
    const { lock, key: k, close } = await slowReleaser('term-release');
    try {
      await lock.acquire();
      const first = lock.release();
      await lock.acquire();
      const second = lock.release();
      expect(second).not.toBe(first);
      await Promise.all([first, second]);
      expect(lock.held).toBe(false);
      expect((await clients.create().kv.get(k))?.Session).toBeUndefined();
      // release() with nothing held resolves, and again after the earlier ones settled.
      await lock.release();
    } finally {
      await close();
    }
  });

  it('close() in the same window releases the second term and refuses further acquisitions', async () => {
    const { lock, key: k, close } = await slowReleaser('term-close');
    try {
      await lock.acquire();
      const first = lock.release();
      await lock.acquire();
      await lock.close();
      await first;
      expect(lock.held).toBe(false);
      expect((await clients.create().kv.get(k))?.Session).toBeUndefined();
      await expect(lock.acquire()).rejects.toBeInstanceOf(ClosedError);
    } finally {
      await close();
    }
  });
});

describe('lock: released is emitted once Consul confirms it', () => {
  it('over 24 handovers between lock objects, listeners never see two holders', async () => {
    const k = key('events');
    const pool = Array.from({ length: 4 }, () => clients.create());
    const locks = Array.from({ length: 24 }, (_, i) => pool[i % pool.length]!.lock(k, fast));
    let holders = 0;
    let maxHolders = 0;
    for (const lock of locks) {
      lock.on('acquired', () => {
        holders++;
        maxHolders = Math.max(maxHolders, holders);
      });
      lock.on('released', () => holders--);
    }
    await Promise.all(
      locks.map((lock) =>
        lock.withLock(async () => {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }),
      ),
    );
    expect(holders).toBe(0);
    expect(maxHolders).toBe(1);
  }, 60_000);
});

describe('lock: an acquisition that ends while its writes are in flight', () => {
  it('aborted while its acquire transaction is in flight: the key is given back, no lock-delay for the next', async () => {
    const relay = await startSlowAnswers(sharedConsulAddress());
    try {
      const k = key('inflight');
      // The answer of the acquire transaction arrives 1.5 s late: it has already taken the key.
      relay.slow((method, path) => method === 'PUT' && path === '/v1/txn', 1_500);
      const sent = relay.sent((method, path) => method === 'PUT' && path === '/v1/txn');
      // The default 15 s lock-delay: a session destroyed while holding would keep the key 15 s.
      const slow = clients.create({ address: relay.url }).lock(k, { ttl: '10s' });
      const controller = new AbortController();
      const pending = slow.acquire({ signal: controller.signal });
      await sent;
      controller.abort(new Error('given up'));
      await expect(pending).rejects.toThrow('given up');
      expect(slow.held).toBe(false);
      const next = clients.create().lock(k, { ttl: '10s' });
      await next.acquire({ timeout: '8s' });
      await next.release();
    } finally {
      await relay.close();
    }
  }, 30_000);

  it('acquire({ timeout }) expiring while session/create is slow leaves no orphan session', async () => {
    const relay = await startSlowAnswers(sharedConsulAddress());
    try {
      const k = key('slow-create');
      relay.slow((method, path) => method === 'PUT' && path === '/v1/session/create', 1_500);
      const sent = relay.sent((method, path) => method === 'PUT' && path === '/v1/session/create');
      const lock = clients.create({ address: relay.url }).lock(k, { ...fast, sessionName: k });
      const pending = lock.acquire({ timeout: 300 });
      await expect(pending).rejects.toBeInstanceOf(TimeoutError);
      await sent;
      // Consul applied the create (its answer is only held back)...
      const answer = await waitFor('Consul to answer the session create', () =>
        relay.answered.find((entry) => entry.path === '/v1/session/create'),
      );
      const id = (JSON.parse(answer.body.toString('utf8')) as { ID: string }).ID;
      // ...and consulkit destroys that session once the late answer names it (an orphan
      // would live up to 2 × TTL, 20 s).
      await waitFor('the orphan session to be destroyed', async () => !(await sessionExists(id)), 10_000);
    } finally {
      await relay.close();
    }
  }, 30_000);
});

describe('lock: heartbeat registration answered after the acquisition ended', () => {
  it('the heartbeat instance registered late is removed once its answer comes', async () => {
    const relay = await startSlowAnswers(sharedConsulAddress());
    try {
      const serviceName = uniqueName('hb-late');
      relay.slow((method, path) => method === 'PUT' && path === '/v1/agent/service/register', 1_500);
      const lock = clients
        .create({ address: relay.url })
        .lock(key('slow-heartbeat'), { ...fast, heartbeat: { ttl: '2s', serviceName } });
      await expect(lock.acquire({ timeout: 300 })).rejects.toBeInstanceOf(TimeoutError);
      const consul = clients.create();
      const instances = async (): Promise<number> =>
        Object.values(await consul.agent.service.list()).filter((service) => service.Service === serviceName)
          .length;
      // The agent registered it (only the answer is held back)...
      await waitFor('the agent to answer the registration', () =>
        relay.answered.some((entry) => entry.path === '/v1/agent/service/register'),
      );
      // ...and consulkit removes it once the late answer arrives (the agent would reap it only
      // a minute after its check turned critical).
      await waitFor(
        'the late heartbeat instance to be removed',
        async () => (await instances()) === 0,
        10_000,
      );
    } finally {
      await relay.close();
    }
  }, 30_000);
});

describe('lock: session checks are exactly what was asked for', () => {
  it('explicit checks become NodeChecks as given, with no serfHealth added (Consul 1.8 adds it to a legacy Checks list)', async () => {
    const consul = clients.create();
    const checkId = uniqueName('lock-explicit-check');
    await consul.agent.check.register({ Name: checkId, ID: checkId, TTL: '60s', Status: 'passing' });
    try {
      const lock = await consul.lock(key('explicit-checks'), { ...fast, checks: [checkId] }).acquire();
      const session = await consul.session.info(lock.sessionId as string);
      expect(session?.NodeChecks).toEqual([checkId]);
      expect(session?.ServiceChecks ?? []).toEqual([]);
      expect(session?.Checks ?? []).toEqual([]);
      await lock.release();
    } finally {
      await consul.agent.check.deregister(checkId);
    }
  });
});
