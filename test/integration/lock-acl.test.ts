/**
 * The ACL policy each primitive documents is exactly enough: against a default-deny agent, a
 * token holding only that policy can lock, hold a semaphore slot, lead an election and use
 * the fast-failover heartbeat; without the session rule it is refused.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_FAILOVER, PermissionDeniedError, type Consul } from '../../src/index.js';
import {
  electionAclRules,
  lockAclRules,
  semaphoreAclRules,
} from '../../src/primitives/session/session-acl.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { Clients } from '../support/clients.js';

let instance: ConsulInstance;
let clients: Clients;
let admin: Consul;

beforeAll(async () => {
  instance = await startConsul({ acl: true });
  clients = new Clients(instance.address);
  admin = clients.create({ token: instance.token as string });
});

afterAll(async () => {
  await clients?.closeAll();
  await instance?.stop();
});

/** A client whose token holds one policy with exactly `rules`. */
async function clientWith(rules: string): Promise<Consul> {
  const policy = await admin.acl.policy.create({
    Name: `lock-acl-${randomBytes(4).toString('hex')}`,
    Rules: rules,
  });
  const token = await admin.acl.token.create({ Policies: [{ ID: policy.ID }] });
  return clients.create({ token: token.SecretID });
}

describe('ACL: the documented policies are enough', () => {
  it('lock: key write + session write', async () => {
    const key = 'acl/jobs/report/.lock';
    const rules = lockAclRules(key, instance.nodeName);
    expect(rules).toBe(
      `key "${key}" { policy = "write" }\nsession "${instance.nodeName}" { policy = "write" }`,
    );
    const consul = await clientWith(rules);
    const lock = consul.lock(key, { ttl: '10s', lockDelay: 0 });
    await lock.acquire({ timeout: 10_000 });
    expect(lock.held).toBe(true);
    // Held past a renewal.
    await new Promise((resolve) => setTimeout(resolve, 3_600));
    expect(lock.held).toBe(true);
    await lock.release();
    expect((await admin.kv.get(key))?.Session).toBeUndefined();
    // A neighbouring key is not covered.
    await expect(
      consul.lock('acl/other/.lock', { ttl: '10s' }).acquire({ timeout: 10_000 }),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
  }, 30_000);

  it('semaphore: key_prefix write + session write', async () => {
    const prefix = 'acl/encoders';
    const consul = await clientWith(semaphoreAclRules(prefix, instance.nodeName));
    const sema = consul.semaphore(prefix, { limit: 2, ttl: '10s', lockDelay: 0 });
    await sema.acquire({ timeout: 10_000 });
    expect(sema.held).toBe(true);
    await sema.release();
    expect(JSON.parse(String((await admin.kv.get(`${prefix}/.lock`))?.Value))).toEqual({
      Limit: 2,
      Holders: {},
    });
  });

  it('election: the lock rules on its key', async () => {
    const key = 'acl/service/leader';
    const consul = await clientWith(electionAclRules(key, instance.nodeName));
    const election = consul.election(key, { value: 'me', ttl: '10s', lockDelay: 0 });
    await election.campaign();
    expect(await election.leader()).toBe('me');
    await election.resign();
  });

  it('fast failover: plus service "consulkit-session" write', async () => {
    const key = 'acl/fast/.lock';
    const consul = await clientWith(lockAclRules(key, instance.nodeName, { heartbeat: true }));
    const lock = consul.lock(key, { ...FAST_FAILOVER });
    await lock.acquire({ timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(lock.held).toBe(true);
    await lock.release();
  });
});

describe('ACL: less is refused', () => {
  it('without the session rule, acquire rejects with PermissionDeniedError', async () => {
    const key = 'acl/nosession/.lock';
    const consul = await clientWith(`key "${key}" { policy = "write" }`);
    await expect(consul.lock(key, { ttl: '10s' }).acquire({ timeout: 10_000 })).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
  });

  it('without the heartbeat service rule, a fast-failover acquire is refused', async () => {
    const key = 'acl/nofast/.lock';
    const consul = await clientWith(lockAclRules(key, instance.nodeName));
    await expect(consul.lock(key, { ...FAST_FAILOVER }).acquire({ timeout: 10_000 })).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
  });

  it('with only read on the key, acquire is refused', async () => {
    const key = 'acl/readonly/.lock';
    const consul = await clientWith(
      `key "${key}" { policy = "read" }\nsession "${instance.nodeName}" { policy = "write" }`,
    );
    await expect(consul.lock(key, { ttl: '10s' }).acquire({ timeout: 10_000 })).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
  });
});
