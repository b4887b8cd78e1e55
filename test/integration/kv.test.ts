import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Consul, ValidationError } from '../../src/index.js';
import { MAX_KV_VALUE_BYTES } from '../../src/api/kv.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { expectInvalid } from '../support/validation.js';

const LOCK_FLAG = 3304740253564472344n;

describe('kv', () => {
  let consul: Consul;
  let prefix: string;

  beforeAll(() => {
    consul = new Consul({ address: sharedConsulAddress(), env: {} });
    prefix = uniquePrefix('kv');
  });
  afterAll(async () => {
    await consul.kv.delete(prefix, { recurse: true });
    await consul.close();
  });

  it('puts and gets text, Buffer and Uint8Array values', async () => {
    expect(await consul.kv.put(`${prefix}/text`, 'héllo')).toBe(true);
    expect(await consul.kv.put(`${prefix}/buffer`, Buffer.from([0, 1, 2, 255]))).toBe(true);
    expect(await consul.kv.put(`${prefix}/bytes`, new Uint8Array([9, 8, 7]))).toBe(true);
    const text = await consul.kv.get(`${prefix}/text`);
    expect(String(text?.Value)).toBe('héllo');
    expect(text?.Key).toBe(`${prefix}/text`);
    expect(typeof text?.ModifyIndex).toBe('bigint');
    expect([...((await consul.kv.get(`${prefix}/buffer`))?.Value ?? [])]).toEqual([0, 1, 2, 255]);
    expect([...((await consul.kv.getRaw(`${prefix}/bytes`)) ?? [])]).toEqual([9, 8, 7]);
  });

  it('returns undefined for a missing key, with the index still exposed', async () => {
    const { data, meta } = await consul.kv.get(`${prefix}/missing`).withMeta();
    expect(data).toBeUndefined();
    expect(meta.index).toBeGreaterThan(0n);
    expect(await consul.kv.getRaw(`${prefix}/missing`)).toBeUndefined();
  });

  it('lists recursively and lists keys with a separator', async () => {
    await consul.kv.put(`${prefix}/tree/a`, '1');
    await consul.kv.put(`${prefix}/tree/b/c`, '2');
    await consul.kv.put(`${prefix}/tree/b/d`, '3');
    const all = await consul.kv.list(`${prefix}/tree/`);
    expect(all.map((entry) => entry.Key)).toEqual([
      `${prefix}/tree/a`,
      `${prefix}/tree/b/c`,
      `${prefix}/tree/b/d`,
    ]);
    expect(await consul.kv.keys(`${prefix}/tree/`, { separator: '/' })).toEqual([
      `${prefix}/tree/a`,
      `${prefix}/tree/b/`,
    ]);
    expect(await consul.kv.list(`${prefix}/nothing-here/`)).toEqual([]);
    expect(await consul.kv.keys(`${prefix}/nothing-here/`)).toEqual([]);
  });

  it('encodes keys with spaces and reserved characters', async () => {
    const key = `${prefix}/we ird/ké y?&#%`;
    await consul.kv.put(key, 'x');
    expect((await consul.kv.get(key))?.Key).toBe(key);
  });

  it('writes and reads the lock flag exactly, as the server stores it', async () => {
    const key = `${prefix}/flags`;
    expect(await consul.kv.put(key, 'v', { flags: LOCK_FLAG })).toBe(true);
    expect((await consul.kv.get(key))?.Flags).toBe(LOCK_FLAG);
    // The server's own JSON must carry the exact digits (not a rounded double).
    const raw = await request(`${sharedConsulAddress()}/v1/kv/${key}`);
    expect(await raw.body.text()).toMatch(/"Flags":\s*3304740253564472344[,\s}]/);
  });

  it('does check-and-set: succeeds on the current index, fails on a stale one', async () => {
    const key = `${prefix}/cas`;
    expect(await consul.kv.put(key, 'v1', { cas: 0 })).toBe(true);
    expect(await consul.kv.put(key, 'again', { cas: 0 })).toBe(false);
    const entry = await consul.kv.get(key);
    expect(await consul.kv.put(key, 'v2', { cas: entry?.ModifyIndex ?? 0n })).toBe(true);
    expect(await consul.kv.put(key, 'v3', { cas: entry?.ModifyIndex ?? 0n })).toBe(false);
    expect(String((await consul.kv.get(key))?.Value)).toBe('v2');
    const current = await consul.kv.get(key);
    expect(await consul.kv.delete(key, { cas: (current?.ModifyIndex ?? 0n) - 1n })).toBe(false);
    expect(await consul.kv.delete(key, { cas: current?.ModifyIndex ?? 0n })).toBe(true);
    expect(await consul.kv.get(key)).toBeUndefined();
  });

  it('deletes a prefix recursively', async () => {
    await consul.kv.put(`${prefix}/del/a`, '1');
    await consul.kv.put(`${prefix}/del/b`, '2');
    expect(await consul.kv.delete(`${prefix}/del/`, { recurse: true })).toBe(true);
    expect(await consul.kv.list(`${prefix}/del/`)).toEqual([]);
  });

  it('wakes a blocking get when another client writes', async () => {
    const key = `${prefix}/blocking`;
    await consul.kv.put(key, 'before');
    const { meta } = await consul.kv.get(key).withMeta();
    const writer = new Consul({ address: sharedConsulAddress(), env: {} });
    try {
      const started = Date.now();
      const blocked = consul.kv.get(key, { index: meta.index ?? 0n, wait: '20s' }).withMeta();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await writer.kv.put(key, 'after')).toBe(true);
      const result = await blocked;
      expect(String(result.data?.Value)).toBe('after');
      expect(result.meta.index).toBeGreaterThan(meta.index ?? 0n);
      expect(Date.now() - started).toBeLessThan(15_000); // hang guard: it must not wait out the 20 s
    } finally {
      await writer.close();
    }
  });

  it('returns after wait when nothing changes', async () => {
    const key = `${prefix}/quiet`;
    await consul.kv.put(key, 'same');
    const { meta } = await consul.kv.get(key).withMeta();
    const result = await consul.kv.get(key, { index: meta.index ?? 0n, wait: '1s' }).withMeta();
    expect(result.meta.index).toBe(meta.index);
    expect(String(result.data?.Value)).toBe('same');
  });

  it('supports stale and consistent reads and reports leader contact', async () => {
    await consul.kv.put(`${prefix}/mode`, 'x');
    const stale = await consul.kv.get(`${prefix}/mode`, { consistency: 'stale' }).withMeta();
    expect(stale.meta.knownLeader).toBe(true);
    expect(stale.meta.lastContact).toBeGreaterThanOrEqual(0);
    const consistent = await consul.kv.get(`${prefix}/mode`, { consistency: 'consistent' });
    expect(String(consistent?.Value)).toBe('x');
  });

  it('rejects bad input before sending anything', async () => {
    const before = consul.stats().requests;
    await expect(consul.kv.put('', 'x')).rejects.toThrow(ValidationError);
    await expect(consul.kv.put('/leading', 'x')).rejects.toThrow(ValidationError);
    expect(() => consul.kv.get('')).toThrow(ValidationError);
    expect(() => consul.kv.get('/abs')).toThrow(ValidationError);
    await expect(consul.kv.put(`${prefix}/big`, Buffer.alloc(MAX_KV_VALUE_BYTES + 1))).rejects.toThrow(
      /exceeds/,
    );
    await expect(consul.kv.put(`${prefix}/f`, 'x', { flags: -1 })).rejects.toThrow(ValidationError);
    await expect(consul.kv.put(`${prefix}/f`, 'x', { flags: 2 ** 60 })).rejects.toThrow(/bigint/);
    await expect(consul.kv.put(`${prefix}/f`, 'x', { cas: 'abc' })).rejects.toThrow(ValidationError);
    await expect(consul.kv.get(`${prefix}/f`, { wait: 'soon' })).rejects.toThrow(ValidationError);
    await expect(consul.kv.get(`${prefix}/f`, { index: 1, wait: '11m' })).rejects.toThrow(/10m/);
    expect(consul.stats().requests).toBe(before);
    // The largest allowed value goes through.
    expect(await consul.kv.put(`${prefix}/max`, Buffer.alloc(MAX_KV_VALUE_BYTES, 1))).toBe(true);
  });

  it('refuses keys and prefixes with empty, . or .. segments, which Consul answers with 301 (issue 10, item 15)', async () => {
    // The premise, against the real agent: its router redirects such paths instead of serving them.
    const raw = await request(`${sharedConsulAddress()}/v1/kv/${prefix}//x`, { method: 'GET' });
    await raw.body.dump();
    expect(raw.statusCode).toBe(301);

    const bad = [
      `${prefix}//x`,
      `${prefix}/./x`,
      `${prefix}/../x`,
      `${prefix}/x/.`,
      `${prefix}/..`,
      '.',
      '..',
      './x',
    ];
    for (const key of bad) {
      await expectInvalid(consul, () => consul.kv.get(key), 'key');
      await expectInvalid(consul, () => consul.kv.put(key, 'v'), 'key');
      await expectInvalid(consul, () => consul.kv.delete(key), 'key');
      await expectInvalid(consul, () => consul.kv.list(key), 'prefix');
      await expectInvalid(consul, () => consul.kv.keys(key), 'prefix');
      await expectInvalid(consul, () => consul.watch.key(key), 'key');
      await expectInvalid(consul, () => consul.watch.keyPrefix(key), 'prefix');
    }
    // A folder key (trailing slash) and dots inside a segment are fine.
    expect(await consul.kv.put(`${prefix}/folder/`, '')).toBe(true);
    expect(await consul.kv.put(`${prefix}/.hidden/a..b/...`, 'v')).toBe(true);
    expect(String((await consul.kv.get(`${prefix}/.hidden/a..b/...`))?.Value)).toBe('v');
    expect(await consul.kv.keys(`${prefix}/folder/`)).toEqual([`${prefix}/folder/`]);
  });
});
