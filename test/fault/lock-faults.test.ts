/**
 * Faults against a real Consul: a holder process SIGKILLed (failover within the documented
 * bound, for the fast setting and a TTL-only one), the agent restarted with its state lost
 * while a lock is held, and a holder whose connection goes silently dead (it must give up
 * before anyone else can acquire).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LockLostError } from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { childrenKilledAfterEach, spawnTs, type TsChild } from '../support/child-process.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { aborted } from '../support/wait.js';

const address = sharedConsulAddress();
const clients = new Clients(address);
const children = childrenKilledAfterEach();
afterAll(() => clients.closeAll());

/** Starts a holder process and waits until it holds the lock. */
async function holder(key: string, env: Record<string, string>): Promise<{ child: TsChild; token: bigint }> {
  const child = spawnTs('test/fixtures/lock-holder.ts', {
    CONSUL_HTTP_ADDR: address,
    LOCK_KEY: key,
    CONSULKIT_LOG_LEVEL: 'error',
    ...env,
  });
  children.push(child);
  const line = await child.line('ACQUIRED', 60_000);
  return { child, token: BigInt(line.split(' ')[1] as string) };
}

/** SIGKILLs the holder and measures how long until a waiting contender acquires. */
async function failover(key: string, env: Record<string, string>, waiterOptions: object): Promise<number> {
  const { child, token } = await holder(key, env);
  const waiter = clients.create().lock(key, waiterOptions);
  const pending = waiter.acquire({ timeout: 60_000 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(waiter.held).toBe(false);
  const killedAt = performance.now();
  child.child.kill('SIGKILL');
  await pending;
  const took = performance.now() - killedAt;
  expect(waiter.fencingToken! > token).toBe(true);
  await waiter.release();
  return took;
}

describe('failover after the holder process is SIGKILLed', () => {
  it('fast setting (FAST_FAILOVER): another process acquires within 5 s', async () => {
    const took = await failover(
      `${uniquePrefix('fault-fast')}/.lock`,
      { FAST: '1' },
      { ttl: '10s', lockDelay: 0 },
    );
    // Documented bound: heartbeat TTL 2 s + lock-delay 1 s + wake-up, at most 5 s.
    expect(took).toBeLessThanOrEqual(5_000);
  }, 90_000);

  it('TTL only (ttl 10s, lock-delay 1s): within 2 × TTL + lock-delay', async () => {
    const took = await failover(
      `${uniquePrefix('fault-ttl')}/.lock`,
      { TTL: '10s', LOCK_DELAY: '1s' },
      { ttl: '10s', lockDelay: 0 },
    );
    expect(took).toBeLessThanOrEqual(2 * 10_000 + 1_000 + 2_000);
  }, 90_000);
});

describe('failover after a semaphore holder process is SIGKILLed', () => {
  it('FAST_FAILOVER: the heartbeat check frees the slot (pruned, no serfHealth) within 5 s', async () => {
    const prefix = uniquePrefix('fault-sem-fast');
    const { child, token } = await holder(prefix, { FAST: '1', SEMAPHORE_LIMIT: '1' });
    const waiter = clients.create().semaphore(prefix, { limit: 1, ttl: '10s', lockDelay: 0 });
    const pending = waiter.acquire({ timeout: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(waiter.held).toBe(false);
    const killedAt = performance.now();
    child.child.kill('SIGKILL');
    await pending;
    const took = performance.now() - killedAt;
    process.stdout.write(
      `[failover] semaphore (FAST_FAILOVER), holder process killed: ${Math.round(took)} ms\n`,
    );
    expect(waiter.admissionIndex! > token).toBe(true);
    // Heartbeat TTL 2 s, then the contender key goes with the session and the slot is pruned.
    expect(took).toBeLessThanOrEqual(5_000);
    await waiter.release();
  }, 90_000);
});

describe('agent restarted with its state lost', () => {
  let instance: ConsulInstance | undefined;
  afterAll(async () => {
    await instance?.stop();
  });

  it('signals the loss, and the lock can be acquired again afterwards', async () => {
    instance = await startConsul();
    const local = new Clients(instance.address);
    try {
      const consul = local.create();
      const key = `${uniquePrefix('fault-restart')}/.lock`;
      const lock = await consul.lock(key, { ttl: '10s', lockDelay: 0 }).acquire();
      const firstSession = lock.sessionId;
      await instance.restart();
      const reason = await aborted(lock.signal, 30_000);
      expect(reason).toBeInstanceOf(LockLostError);
      expect(lock.held).toBe(false);
      await lock.acquire({ timeout: 30_000 });
      expect(lock.held).toBe(true);
      expect(lock.sessionId).not.toBe(firstSession);
      expect((await consul.kv.get(key))?.Session).toBe(lock.sessionId);
      await lock.release();
    } finally {
      await local.closeAll();
    }
  }, 120_000);
});

describe("holder's connection silently dead", () => {
  it('the holder gives up before another holder can acquire', async () => {
    const proxy = await startTcpProxy(address);
    const holderClient = clients.create({ address: `http://${proxy.address}` });
    try {
      const key = `${uniquePrefix('fault-blackhole')}/.lock`;
      const lock = await holderClient.lock(key, { ttl: '10s', lockDelay: 0 }).acquire();
      const other = clients.create().lock(key, { ttl: '10s', lockDelay: 0 });
      const otherAcquired = other.acquire({ timeout: 60_000 }).then(() => performance.now());
      let holderGaveUpAt = Number.POSITIVE_INFINITY;
      const gaveUp = aborted(lock.signal, 30_000).then((reason) => {
        holderGaveUpAt = performance.now();
        return reason;
      });
      const blackholedAt = performance.now();
      proxy.blackhole();
      const reason = await gaveUp;
      expect(reason).toBeInstanceOf(LockLostError);
      expect(String((reason as Error).message)).toMatch(/no session renewal succeeded/);
      // Within a TTL of the last renewal that got through (renewals every TTL/3).
      expect(holderGaveUpAt - blackholedAt).toBeLessThanOrEqual(10_000);
      const acquiredAt = await otherAcquired;
      expect(holderGaveUpAt).toBeLessThan(acquiredAt);
      await other.release();
    } finally {
      proxy.resume();
      await holderClient.close();
      await proxy.close();
    }
  }, 90_000);
});
