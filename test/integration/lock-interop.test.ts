/**
 * Interoperation with Consul's own `consul lock` (Go api.Lock / api.Semaphore) on the same
 * prefix, both ways: a consulkit lock and a `consul lock` exclude each other, so do a
 * consulkit semaphore and `consul lock -n N`, and mixing a lock with a semaphore on one
 * prefix is a conflict for both.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/index.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { ConsulLock } from '../support/consul-lock.js';

const address = sharedConsulAddress();
const clients = new Clients(address);
afterAll(() => clients.closeAll());

const fast = { ttl: '10s', lockDelay: 0 } as const;

describe('interop: consulkit lock and `consul lock`', () => {
  it('consul lock waits while consulkit holds <prefix>/.lock, and gets it after the release', async () => {
    const prefix = uniquePrefix('interop-lock-a');
    const lock = await clients.create().lock(`${prefix}/.lock`, fast).acquire();
    const cli = await ConsulLock.start(prefix);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(cli.locked).toBe(false);
    await lock.release();
    await cli.waitLocked();
    await cli.stop();
  });

  it('consulkit waits while consul lock holds, and gets it after consul lock exits', async () => {
    const prefix = uniquePrefix('interop-lock-b');
    const cli = await ConsulLock.start(prefix);
    await cli.waitLocked();
    const lock = clients.create().lock(`${prefix}/.lock`, fast);
    expect(await lock.tryAcquire()).toBe(false);
    const pending = lock.acquire({ timeout: 15_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lock.held).toBe(false);
    await cli.stop();
    await pending;
    expect(lock.held).toBe(true);
    await lock.release();
  });
});

describe('interop: consulkit semaphore and `consul lock -n`', () => {
  it('shares the slots both ways', async () => {
    const prefix = uniquePrefix('interop-sem');
    const first = await ConsulLock.start(prefix, ['-n=2']);
    await first.waitLocked();
    const mine = await clients
      .create()
      .semaphore(prefix, { limit: 2, ...fast })
      .acquire();
    // Both slots taken: a second consul lock and another consulkit contender wait.
    const second = await ConsulLock.start(prefix, ['-n=2']);
    const other = clients.create().semaphore(prefix, { limit: 2, ...fast });
    expect(await other.tryAcquire()).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(second.locked).toBe(false);

    await mine.release();
    await second.waitLocked();
    expect(await other.tryAcquire()).toBe(false);
    const pending = other.acquire({ timeout: 15_000 });
    await first.stop();
    await pending;
    expect(other.held).toBe(true);
    await other.release();
    await second.stop();
  });
});

describe('interop: a lock and a semaphore on one prefix conflict', () => {
  it('consulkit semaphore on a prefix that consul lock (-n=1) holds: ConflictError', async () => {
    const prefix = uniquePrefix('interop-conflict-a');
    const cli = await ConsulLock.start(prefix);
    await cli.waitLocked();
    await expect(
      clients
        .create()
        .semaphore(prefix, { limit: 2, ...fast })
        .acquire(),
    ).rejects.toBeInstanceOf(ConflictError);
    await cli.stop();
  });

  it('consul lock (-n=1) on a prefix a consulkit semaphore holds: refused by consul lock', async () => {
    const prefix = uniquePrefix('interop-conflict-b');
    const sema = await clients
      .create()
      .semaphore(prefix, { limit: 2, ...fast })
      .acquire();
    const cli = await ConsulLock.start(prefix);
    const code = await cli.exited;
    expect(code).not.toBe(0);
    expect(cli.locked).toBe(false);
    expect(cli.stderr).toMatch(/does not match lock use/);
    await sema.release();
  });
});
