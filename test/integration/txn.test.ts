import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Consul, TxnError, ValidationError, type TxnOperation, type TxnResult } from '../../src/index.js';
import { MAX_KV_VALUE_BYTES, type KVPair } from '../../src/api/kv.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';

function kvOf(result: TxnResult | undefined): KVPair {
  if (!result || !('KV' in result)) throw new Error(`not a KV result: ${JSON.stringify(result)}`);
  return result.KV;
}

describe('txn', () => {
  let consul: Consul;
  let prefix: string;
  const sessions: string[] = [];

  beforeAll(() => {
    consul = new Consul({ address: sharedConsulAddress(), env: {} });
    prefix = uniquePrefix('txn');
  });
  afterAll(async () => {
    for (const id of sessions) await consul.session.destroy(id);
    await consul.kv.delete(prefix, { recurse: true });
    await consul.close();
  });

  it('applies a mixed transaction and returns per-operation results', async () => {
    const { kv } = consul.txn;
    await consul.kv.put(`${prefix}/mixed/x`, 'old');
    await consul.kv.put(`${prefix}/mixed/y`, 'why');
    await consul.kv.put(`${prefix}/mixed/z`, 'doomed');
    const x = await consul.kv.get(`${prefix}/mixed/x`);
    const y = await consul.kv.get(`${prefix}/mixed/y`);

    const { results } = await consul.txn.execute([
      kv.set(`${prefix}/mixed/a`, 'alpha', { flags: 3304740253564472344n }),
      kv.get(`${prefix}/mixed/x`),
      kv.cas(`${prefix}/mixed/x`, 'new', x?.ModifyIndex ?? 0n),
      kv.checkIndex(`${prefix}/mixed/y`, y?.ModifyIndex ?? 0n),
      kv.delete(`${prefix}/mixed/z`),
    ]);
    // Deletes yield no result, so there are four results for five operations.
    expect(results).toHaveLength(4);
    const [set, get, cas, check] = results.map(kvOf);
    expect(set).toMatchObject({ Key: `${prefix}/mixed/a`, Flags: 3304740253564472344n });
    expect(set?.Value.length).toBe(0); // writes come back without their value
    expect(String(get?.Value)).toBe('old');
    expect(get?.ModifyIndex).toBe(x?.ModifyIndex);
    expect(cas?.ModifyIndex).toBeGreaterThan(x?.ModifyIndex ?? 0n);
    expect(check).toMatchObject({ Key: `${prefix}/mixed/y`, ModifyIndex: y?.ModifyIndex });
    expect(check?.Value.length).toBe(0); // only get and get-tree carry values

    expect(String((await consul.kv.get(`${prefix}/mixed/a`))?.Value)).toBe('alpha');
    expect(String((await consul.kv.get(`${prefix}/mixed/x`))?.Value)).toBe('new');
    expect(await consul.kv.get(`${prefix}/mixed/z`)).toBeUndefined();
  });

  it('rolls the whole transaction back when one operation fails', async () => {
    const { kv } = consul.txn;
    await consul.kv.put(`${prefix}/rollback/x`, 'keep');
    const x = await consul.kv.get(`${prefix}/rollback/x`);
    const wrong = (x?.ModifyIndex ?? 0n) + 1000n;
    const failure = await consul.txn
      .execute([
        kv.set(`${prefix}/rollback/b`, 'never'),
        kv.cas(`${prefix}/rollback/x`, 'changed', wrong),
        kv.delete(`${prefix}/rollback/x`),
      ])
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TxnError);
    const error = failure as TxnError;
    expect(error.code).toBe('TXN_FAILED');
    expect(error.errors).toHaveLength(1);
    expect(error.errors[0]?.opIndex).toBe(1);
    expect(error.errors[0]?.what).toMatch(/index is stale/);
    // Nothing took effect: neither the earlier set nor the later delete.
    expect(await consul.kv.get(`${prefix}/rollback/b`)).toBeUndefined();
    expect(String((await consul.kv.get(`${prefix}/rollback/x`))?.Value)).toBe('keep');
  });

  it('reports every failing operation', async () => {
    const { kv } = consul.txn;
    await consul.kv.put(`${prefix}/many/exists`, '1');
    const failure = await consul.txn
      .execute([
        kv.checkNotExists(`${prefix}/many/exists`),
        kv.set(`${prefix}/many/fine`, 'x'),
        kv.get(`${prefix}/many/missing`),
      ])
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TxnError);
    expect((failure as TxnError).errors.map((e) => e.opIndex)).toEqual([0, 2]);
  });

  it('reports all 64 failures of a large rollback, whose answer is longer than 4 KiB', async () => {
    const { kv } = consul.txn;
    const long = 'k'.repeat(60);
    const operations = Array.from({ length: 64 }, (_, i) => kv.get(`${prefix}/large/${long}-${i}`));
    const failure = await consul.txn.execute(operations).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TxnError);
    const error = failure as TxnError;
    expect((error.cause as { body: string }).body.length).toBeGreaterThan(4096);
    expect(error.errors.map((e) => e.opIndex)).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });

  it('checks that a key does not exist (check-not-exists, Consul 1.7+)', async () => {
    const { kv } = consul.txn;
    const { results } = await consul.txn.execute([
      kv.checkNotExists(`${prefix}/cne/new`),
      kv.set(`${prefix}/cne/new`, 'created'),
    ]);
    expect(results.map(kvOf).map((r) => r.Key)).toEqual([`${prefix}/cne/new`]);
    await expect(
      consul.txn.execute([kv.checkNotExists(`${prefix}/cne/new`), kv.set(`${prefix}/cne/new`, 'again')]),
    ).rejects.toThrow(TxnError);
    expect(String((await consul.kv.get(`${prefix}/cne/new`))?.Value)).toBe('created');
  });

  it('takes and releases a lock with a session, and checks the holder', async () => {
    const { kv } = consul.txn;
    const key = `${prefix}/lock/leader`;
    const session = await consul.session.create({ TTL: '30s', LockDelay: 0 });
    const other = await consul.session.create({ TTL: '30s', LockDelay: 0 });
    sessions.push(session, other);

    const locked = await consul.txn.execute([kv.lock(key, 'me', session)]);
    expect(kvOf(locked.results[0])).toMatchObject({ Key: key, Session: session, LockIndex: 1n });
    expect((await consul.kv.get(key))?.Session).toBe(session);

    await expect(consul.txn.execute([kv.lock(key, 'thief', other)])).rejects.toThrow(TxnError);
    await expect(consul.txn.execute([kv.checkSession(key, other)])).rejects.toThrow(TxnError);
    const checked = await consul.txn.execute([kv.checkSession(key, session), kv.get(key)]);
    expect(String(kvOf(checked.results[1]).Value)).toBe('me');

    await consul.txn.execute([kv.unlock(key, 'released', session)]);
    const after = await consul.kv.get(key);
    expect(after?.Session).toBeUndefined();
    expect(String(after?.Value)).toBe('released');
  });

  it('reads trees, binary values and catalog nodes; read-only transactions take a consistency mode', async () => {
    const { kv } = consul.txn;
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await consul.txn.execute([
      kv.set(`${prefix}/tree/a`, bytes),
      kv.set(`${prefix}/tree/b`, 'bee'),
      kv.deleteCas(`${prefix}/tree/none`, 0),
    ]);
    const self = await request(`${sharedConsulAddress()}/v1/agent/self`);
    const nodeName = ((await self.body.json()) as { Config: { NodeName: string } }).Config.NodeName;

    const { results } = await consul.txn.execute(
      [kv.getTree(`${prefix}/tree/`), { Node: { Verb: 'get', Node: { Node: nodeName } } }],
      { consistency: 'stale' },
    );
    expect(results).toHaveLength(3);
    const tree = results.slice(0, 2).map(kvOf);
    expect(tree.map((r) => r.Key)).toEqual([`${prefix}/tree/a`, `${prefix}/tree/b`]);
    expect([...(tree[0]?.Value ?? [])]).toEqual([...bytes]);
    expect(results[2]).toMatchObject({ Node: { Node: nodeName } });

    await consul.txn.execute([kv.deleteTree(`${prefix}/tree/`)]);
    expect(await consul.kv.list(`${prefix}/tree/`)).toEqual([]);
  });

  it('rejects bad input without sending a request', async () => {
    const { kv } = consul.txn;
    const before = consul.stats().requests;
    const tooMany = Array.from({ length: 65 }, (_, i) => kv.get(`${prefix}/k${i}`));
    const handWritten = (op: unknown) => consul.txn.execute([op as TxnOperation]);
    const invalid: Array<() => Promise<unknown>> = [
      () => consul.txn.execute([]),
      () => consul.txn.execute(tooMany),
      () => handWritten({ KV: { Verb: 'get', Key: '' } }),
      () => handWritten({ KV: { Verb: 'get', Key: '/abs' } }),
      () =>
        handWritten({
          KV: { Verb: 'set', Key: 'a', Value: Buffer.alloc(MAX_KV_VALUE_BYTES + 1).toString('base64') },
        }),
      () => handWritten({ KV: { Verb: 'upsert', Key: 'a' } }),
      () => handWritten({ KV: { Verb: 'cas', Key: 'a', Value: '' } }),
      () => handWritten({ KV: { Verb: 'check-index', Key: 'a' } }),
      () => handWritten({ KV: { Verb: 'lock', Key: 'a', Value: '' } }),
      () => handWritten({ KV: { Verb: 'unlock', Key: 'a', Value: '' } }),
      () => handWritten({ KV: { Verb: 'check-session', Key: 'a' } }),
      async () => consul.txn.execute([kv.set('', 'x')]),
      async () => consul.txn.execute([kv.set('a', Buffer.alloc(MAX_KV_VALUE_BYTES + 1))]),
    ];
    for (const call of invalid) await expect(call()).rejects.toThrow(ValidationError);
    expect(consul.stats().requests).toBe(before);
  });
});
