import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consul, NotFoundError, ValidationError } from '../../src/index.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';

describe('session', () => {
  let consul: Consul;
  let prefix: string;
  const created: string[] = [];

  beforeAll(() => {
    consul = new Consul({ address: sharedConsulAddress(), env: {} });
    prefix = uniquePrefix('session');
  });
  afterAll(async () => {
    for (const id of created) await consul.session.destroy(id);
    await consul.kv.delete(prefix, { recurse: true });
    await consul.close();
  });

  async function create(request: Parameters<Consul['session']['create']>[0]): Promise<string> {
    const id = await consul.session.create(request);
    created.push(id);
    return id;
  }

  it('creates, reads, lists, renews and destroys a session', async () => {
    const id = await create({ Name: 'consulkit-test', TTL: '15s', LockDelay: '1s', Behavior: 'delete' });
    const info = await consul.session.info(id);
    expect(info).toMatchObject({
      ID: id,
      Name: 'consulkit-test',
      TTL: '15s',
      Behavior: 'delete',
      LockDelay: 1e9,
    });
    expect(info?.Node).toBeTruthy();
    expect((await consul.session.node(info?.Node ?? '')).map((s) => s.ID)).toContain(id);
    expect((await consul.session.list()).map((s) => s.ID)).toContain(id);
    const renewed = await consul.session.renew(id);
    expect(renewed.ID).toBe(id);
    expect(await consul.session.destroy(id)).toBe(true);
    expect(await consul.session.info(id)).toBeUndefined();
    await expect(consul.session.renew(id)).rejects.toThrow(NotFoundError);
  });

  it('accepts durations in milliseconds', async () => {
    const id = await create({ TTL: 20_000, LockDelay: 0 });
    expect(await consul.session.info(id)).toMatchObject({ TTL: '20s', LockDelay: 0 });
  });

  it('acquires and releases a key; a second session cannot acquire it', async () => {
    const key = `${prefix}/lock`;
    const first = await create({ TTL: '15s', LockDelay: 0 });
    const second = await create({ TTL: '15s', LockDelay: 0 });
    expect(await consul.kv.put(key, 'holder-1', { acquire: first })).toBe(true);
    expect((await consul.kv.get(key))?.Session).toBe(first);
    expect((await consul.kv.get(key))?.LockIndex).toBe(1n);
    expect(await consul.kv.put(key, 'holder-2', { acquire: second })).toBe(false);
    expect(await consul.kv.put(key, 'x', { release: second })).toBe(false);
    expect(await consul.kv.put(key, 'released', { release: first })).toBe(true);
    expect((await consul.kv.get(key))?.Session).toBeUndefined();
    expect(await consul.kv.put(key, 'holder-2', { acquire: second })).toBe(true);
    expect((await consul.kv.get(key))?.LockIndex).toBe(2n);
  });

  it('destroying a session releases its keys (release) or deletes them (delete)', async () => {
    const releaseId = await create({ TTL: '15s', LockDelay: 0, Behavior: 'release' });
    const deleteId = await create({ TTL: '15s', LockDelay: 0, Behavior: 'delete' });
    await consul.kv.put(`${prefix}/r`, 'x', { acquire: releaseId });
    await consul.kv.put(`${prefix}/d`, 'x', { acquire: deleteId });
    await consul.session.destroy(releaseId);
    await consul.session.destroy(deleteId);
    expect((await consul.kv.get(`${prefix}/r`))?.Session).toBeUndefined();
    expect(await consul.kv.get(`${prefix}/d`)).toBeUndefined();
  });

  it('binds a session to node checks', async () => {
    const id = await create({ NodeChecks: ['serfHealth'], TTL: '15s' });
    expect((await consul.session.info(id))?.NodeChecks).toEqual(['serfHealth']);
  });

  it('rejects bad TTLs, lock-delays and behaviors before sending anything', async () => {
    const before = consul.stats().requests;
    await expect(consul.session.create({ TTL: '9s' })).rejects.toThrow(ValidationError);
    await expect(consul.session.create({ TTL: '86401s' })).rejects.toThrow(ValidationError);
    await expect(consul.session.create({ TTL: 'soon' })).rejects.toThrow(ValidationError);
    await expect(consul.session.create({ LockDelay: '61s' })).rejects.toThrow(/LockDelay/);
    await expect(consul.session.create({ Behavior: 'explode' as unknown as 'release' })).rejects.toThrow(
      ValidationError,
    );
    await expect(consul.session.destroy('')).rejects.toThrow(ValidationError);
    await expect(consul.session.destroy('a/b')).rejects.toThrow(ValidationError);
    expect(consul.stats().requests).toBe(before);
  });
});

describe('status', () => {
  it('reports the leader and the peers', async () => {
    const consul = new Consul({ address: sharedConsulAddress(), env: {} });
    try {
      const leader = await consul.status.leader();
      expect(leader).toMatch(/:\d+$/);
      expect(await consul.status.peers()).toContain(leader);
    } finally {
      await consul.close();
    }
  });
});
