import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  ClosedError,
  PermissionDeniedError,
  ConfigDecodeError,
  Consul,
  txnKV,
  type ConfigChange,
  type ConfigMap,
  type ConfigSnapshot,
} from '../../src/index.js';
import { startConsul, type ConsulInstance } from '../../src/testing/index.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { memoryLogger } from '../support/logging.js';

let consul: Consul;

beforeAll(() => {
  consul = new Consul({ address: sharedConsulAddress() });
});

afterAll(async () => {
  await consul.close();
});

/** Resolves with the next value `subscribe` delivers, with a hang guard. */
function next<T>(
  what: string,
  subscribe: (listener: (value: T) => void) => unknown,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
    subscribe((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

function nextChange<T>(cfg: ConfigMap<T>): Promise<ConfigChange<T>> {
  return next('change', (listener) => cfg.once('change', listener));
}

function nextError<T>(cfg: ConfigMap<T>): Promise<Error> {
  return next('error', (listener) => cfg.once('error', listener));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('configMap', () => {
  it('is ready with the initial values, keys relative to the prefix, folders skipped', async () => {
    const prefix = uniquePrefix('cfg-initial');
    await consul.kv.put(`${prefix}/db/host`, '"db.local"');
    await consul.kv.put(`${prefix}/db/port`, '5432');
    await consul.kv.put(`${prefix}/empty-folder/`, '');
    await consul.kv.put(`${prefix}/flags`, '{"beta":true}');
    await consul.kv.put(`${prefix}-sibling/not-mine`, '1');

    // With and without the trailing slash: the prefix is a folder either way.
    for (const given of [prefix, `${prefix}/`]) {
      const cfg = consul.configMap(given, { decode: 'json' });
      try {
        const snapshot = await cfg.ready();
        expect(cfg.prefix).toBe(`${prefix}/`);
        expect(cfg.keys()).toEqual(['db/host', 'db/port', 'flags']);
        expect(cfg.get('db/host')).toBe('db.local');
        expect(cfg.get('db/port')).toBe(5432);
        expect(cfg.has('flags')).toBe(true);
        expect(cfg.has('empty-folder/')).toBe(false);
        expect(cfg.get('not-mine')).toBeUndefined();
        expect(cfg.entries()).toEqual([
          ['db/host', 'db.local'],
          ['db/port', 5432],
          ['flags', { beta: true }],
        ]);
        expect(cfg.toObject()).toEqual({ 'db/host': 'db.local', 'db/port': 5432, flags: { beta: true } });
        expect(snapshot.size).toBe(3);
        expect(cfg.size).toBe(3);
      } finally {
        await cfg.close();
      }
    }
  });

  it("decodes UTF-8 text by default and bytes with 'buffer'", async () => {
    const prefix = uniquePrefix('cfg-string');
    await consul.kv.put(`${prefix}/greeting`, 'héllo {not json}');
    const text = consul.configMap(prefix);
    const bytes = consul.configMap(prefix, { decode: 'buffer' });
    expectTypeOf(text).toEqualTypeOf<ConfigMap<string>>();
    expectTypeOf(bytes).toEqualTypeOf<ConfigMap<Buffer>>();
    try {
      await Promise.all([text.ready(), bytes.ready()]);
      expect(text.get('greeting')).toBe('héllo {not json}');
      expect(bytes.get('greeting')).toEqual(Buffer.from('héllo {not json}'));
    } finally {
      await Promise.all([text.close(), bytes.close()]);
    }
  });

  it('is ready with an empty map for a prefix that does not exist', async () => {
    await using cfg = consul.configMap(uniquePrefix('cfg-none'));
    expect((await cfg.ready()).size).toBe(0);
    expect(cfg.toObject()).toEqual({});
  });

  it('emits change with what was added, changed and removed, and the new snapshot', async () => {
    const prefix = uniquePrefix('cfg-live');
    await consul.kv.put(`${prefix}/a`, '1');
    await consul.kv.put(`${prefix}/b`, '2');
    await using cfg = consul.configMap(prefix, { decode: 'json' });
    await cfg.ready();

    let change = nextChange(cfg);
    // One transaction, so that one answer of the watch carries all three.
    await consul.txn.execute([
      txnKV.set(`${prefix}/a`, '10'),
      txnKV.delete(`${prefix}/b`),
      txnKV.set(`${prefix}/c/d`, '"new"'),
    ]);
    const first = await change;
    expect(first.added).toEqual(['c/d']);
    expect(first.changed).toEqual(['a']);
    expect(first.removed).toEqual(['b']);
    expect(Object.fromEntries(first.snapshot)).toEqual({ a: 10, 'c/d': 'new' });
    expect(cfg.toObject()).toEqual({ a: 10, 'c/d': 'new' });

    // Rewriting the same value is not a change; the next real change is the next event.
    const events: ConfigChange<unknown>[] = [];
    cfg.on('change', (event) => events.push(event));
    change = nextChange(cfg);
    await consul.kv.put(`${prefix}/a`, '10');
    // Nor is a rewrite that decodes to the same value (the bytes differ).
    await consul.kv.put(`${prefix}/c/d`, ' "new"\n');
    await consul.kv.put(`${prefix}/e`, 'true');
    const second = await change;
    expect(second.added).toEqual(['e']);
    expect(second.changed).toEqual([]);
    expect(events).toHaveLength(1);
  });

  it('keeps the last good value of an undecodable key, reports a ConfigDecodeError, then recovers', async () => {
    const prefix = uniquePrefix('cfg-decode');
    await consul.kv.put(`${prefix}/limits`, '{"rps":100}');
    await using cfg = consul.configMap(prefix, { decode: 'json' });
    await cfg.ready();
    const errors: Error[] = [];
    const changes: ConfigChange<unknown>[] = [];
    cfg.on('error', (error) => errors.push(error));
    cfg.on('change', (change) => changes.push(change));

    const failed = nextError(cfg);
    await consul.kv.put(`${prefix}/limits`, '{"rps": oops');
    const error = await failed;
    expect(error).toBeInstanceOf(ConfigDecodeError);
    expect((error as ConfigDecodeError).code).toBe('DECODE');
    expect((error as ConfigDecodeError).key).toBe('limits');
    expect((error as ConfigDecodeError).consulKey).toBe(`${prefix}/limits`);
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(cfg.get('limits')).toEqual({ rps: 100 });

    // Another key changing does not report the same broken version again.
    const added = nextChange(cfg);
    await consul.kv.put(`${prefix}/other`, '1');
    expect((await added).added).toEqual(['other']);
    expect(errors).toHaveLength(1);
    expect(cfg.get('limits')).toEqual({ rps: 100 });

    const fixed = nextChange(cfg);
    await consul.kv.put(`${prefix}/limits`, '{"rps":250}');
    expect((await fixed).changed).toEqual(['limits']);
    expect(cfg.get('limits')).toEqual({ rps: 250 });
    expect(errors).toHaveLength(1);
    // The broken value never showed as a change: only the fix did.
    expect(changes.filter((change) => change.changed.includes('limits'))).toHaveLength(1);
  });

  it('reports every key removed when the whole prefix is deleted', async () => {
    const prefix = uniquePrefix('cfg-delete');
    await consul.kv.put(`${prefix}/x`, '1');
    await consul.kv.put(`${prefix}/y/z`, '2');
    await using cfg = consul.configMap(prefix);
    await cfg.ready();
    const change = nextChange(cfg);
    await consul.kv.delete(`${prefix}/`, { recurse: true });
    const removed = await change;
    expect(removed.removed).toEqual(['x', 'y/z']);
    expect(removed.added).toEqual([]);
    expect(removed.snapshot.size).toBe(0);
    expect(cfg.keys()).toEqual([]);

    const back = nextChange(cfg);
    await consul.kv.put(`${prefix}/x`, 'again');
    expect((await back).added).toEqual(['x']);
    expect(cfg.get('x')).toBe('again');
  });

  it('uses a custom decoder, with keys relative to the prefix, and reports what it throws', async () => {
    const prefix = uniquePrefix('cfg-custom');
    await consul.kv.put(`${prefix}/timeout`, '30s');
    await consul.kv.put(`${prefix}/retries`, '3');
    const seen: string[] = [];
    const cfg = consul.configMap(prefix, {
      decode: (value: Buffer, key: string) => {
        seen.push(key);
        const text = value.toString('utf8');
        const match = /^(\d+)(s?)$/.exec(text);
        if (!match) throw new RangeError(`'${text}' is not a count or a number of seconds`);
        return { key, amount: Number(match[1]) * (match[2] === 's' ? 1000 : 1) };
      },
    });
    expectTypeOf(cfg).toEqualTypeOf<ConfigMap<{ key: string; amount: number }>>();
    try {
      await cfg.ready();
      expect(seen.sort()).toEqual(['retries', 'timeout']);
      expect(cfg.get('timeout')).toEqual({ key: 'timeout', amount: 30_000 });
      expect(cfg.get('retries')).toEqual({ key: 'retries', amount: 3 });

      const failed = nextError(cfg);
      await consul.kv.put(`${prefix}/retries`, 'many');
      const error = await failed;
      expect(error).toBeInstanceOf(ConfigDecodeError);
      expect(error.cause).toBeInstanceOf(RangeError);
      expect(cfg.get('retries')).toEqual({ key: 'retries', amount: 3 });
    } finally {
      await cfg.close();
    }
  });

  it('yields snapshots through for await, and closes when the loop breaks', async () => {
    const prefix = uniquePrefix('cfg-iterate');
    await consul.kv.put(`${prefix}/n`, '1');
    const cfg = consul.configMap(prefix, { decode: 'json' });
    const seen: unknown[] = [];
    for await (const snapshot of cfg) {
      expectTypeOf(snapshot).toEqualTypeOf<ConfigSnapshot<unknown>>();
      seen.push(snapshot.get('n'));
      if (snapshot.get('n') === 3) break;
      await consul.kv.put(`${prefix}/n`, String(Number(snapshot.get('n')) + 1));
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(cfg.closed).toBe(true);
    // ready() after close still answers with the last snapshot rather than hanging.
    const last = await cfg.ready();
    expect(last.get('n')).toBe(3);
    await cfg.close();
  });

  it('stops its blocking reads on close(), is idempotent, and ends iterators and waiters', async () => {
    const prefix = uniquePrefix('cfg-close');
    await using own = new Consul({ address: sharedConsulAddress() });
    await consul.kv.put(`${prefix}/k`, 'v0');
    const cfg = own.configMap(prefix);
    await cfg.ready();
    const changed = nextChange(cfg);
    await consul.kv.put(`${prefix}/k`, 'v1');
    await changed;
    expect(own.stats().blockingRequests).toBeGreaterThan(0);
    expect(own.watch.stats().loops).toBe(1);

    const iterator = cfg[Symbol.asyncIterator]();
    await iterator.next();
    const pending = iterator.next();
    // A second iterator with a snapshot it has not read when the map closes.
    const unread = cfg[Symbol.asyncIterator]();
    await Promise.all([cfg.close(), cfg.close(), cfg[Symbol.asyncDispose]()]);
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    // Closed means no more snapshots, not one more stale one.
    await expect(unread.next()).resolves.toEqual({ value: undefined, done: true });
    expect(cfg.closed).toBe(true);
    expect(own.watch.stats().loops).toBe(0);

    const before = own.stats().blockingRequests;
    for (let i = 2; i < 6; i += 1) await consul.kv.put(`${prefix}/k`, `v${i}`);
    await sleep(500);
    expect(own.stats().blockingRequests).toBe(before);
    expect(cfg.get('k')).toBe('v1');
  });

  it('is closed by consul.close() and by its signal; a closed map rejects ready()', async () => {
    const prefix = uniquePrefix('cfg-owner');
    const own = new Consul({ address: sharedConsulAddress() });
    const early = own.configMap(prefix);
    const readyEarly = early.ready();
    await own.close();
    expect(early.closed).toBe(true);
    await expect(readyEarly).rejects.toBeInstanceOf(ClosedError);

    const controller = new AbortController();
    const aborted = consul.configMap(prefix, { signal: controller.signal });
    await aborted.ready();
    controller.abort();
    await sleep(50);
    expect(aborted.closed).toBe(true);
  });

  it('rejects bad input before any request', () => {
    expect(() => consul.configMap('/absolute')).toThrow(/prefix/);
    // @ts-expect-error: not a decoder
    expect(() => consul.configMap('x', { decode: 'yaml' })).toThrow(/decode/);
  });
});

describe('configMap on an agent with ACLs', () => {
  let agent: ConsulInstance | undefined;

  beforeAll(async () => {
    agent = await startConsul({ acl: true });
  });

  afterAll(async () => {
    await agent?.stop();
  });

  it('survives a refused token (403): reports it, keeps trying, and loads once the token is granted', async () => {
    // An unknown token is refused with 403 ("ACL not found") on every read. A token created
    // later (or a policy granted late, or replication catching up) must heal the config map.
    const secret = randomUUID();
    const { logger } = memoryLogger('error');
    const client = new Consul({ address: agent?.address ?? '', token: secret, logger });
    const admin = new Consul({ address: agent?.address ?? '', token: agent?.token ?? '' });
    try {
      const cfg = client.configMap('app/config', {
        decode: 'json',
        backoff: { initialDelay: 100, maxDelay: '1s' },
      });
      const errors: Error[] = [];
      cfg.on('error', (error) => errors.push(error));
      const iterator = cfg[Symbol.asyncIterator]();
      const deadline = performance.now() + 15_000;
      while (errors.length === 0 && performance.now() < deadline) await sleep(25);
      expect(errors[0]).toBeInstanceOf(PermissionDeniedError);
      expect(cfg.closed).toBe(false);

      await admin.kv.put('app/config/pool', '{"size":5}');
      const policy = await admin.acl.policy.create({
        Name: `cfg-read-${randomUUID().slice(0, 8)}`,
        Rules: 'key_prefix "app/config/" { policy = "read" }',
      });
      await admin.acl.token.create({ SecretID: secret, Policies: [{ ID: policy.ID }] });
      await cfg.ready();
      expect(cfg.get('pool')).toEqual({ size: 5 });
      const first = await iterator.next();
      expect(first.done).toBe(false);
      expect(first.done === false && Object.fromEntries(first.value)).toEqual({ pool: { size: 5 } });
      await cfg.close();
    } finally {
      await client.close();
      await admin.close();
    }
  });
});
