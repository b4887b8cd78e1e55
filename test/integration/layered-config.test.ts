import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigDecodeError,
  ConfigSchemaError,
  ValidationError,
  type ConfigFormat,
  type LayeredConfig,
  type LayeredConfigChange,
} from '../../src/index.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';

const clients = new Clients(sharedConsulAddress());
const consul = clients.create();

afterAll(() => clients.closeAll());

/** Resolves with the next event of one kind (bounded only to catch hangs). */
function next<E extends 'change' | 'error', T>(
  config: LayeredConfig<T>,
  event: E,
): Promise<E extends 'change' ? LayeredConfigChange<T> : Error> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within 20 s`)), 20_000);
    config.once(event, ((payload: never) => {
      clearTimeout(timer);
      resolve(payload);
    }) as never);
  });
}

const Billing = z.object({
  db: z.object({ host: z.string(), pool: z.number().int().positive() }),
  currency: z.string().length(3),
  features: z.array(z.string()).default([]),
});

describe('consul.config (layered)', () => {
  it('merges application, application,prod, billing and billing,prod with later layers winning', async () => {
    const root = uniquePrefix('layers');
    await consul.kv.put(
      `${root}/application/data`,
      'db:\n  host: shared-db\n  pool: 5\ncurrency: EUR\nfeatures: [a]\n',
    );
    await consul.kv.put(`${root}/application,prod/data`, 'db:\n  host: prod-db\n');
    await consul.kv.put(`${root}/billing/data`, 'db:\n  pool: 20\nfeatures: [b, c]\n');
    await consul.kv.put(`${root}/billing,prod/data`, 'currency: USD\n');
    // Another application's layer under the same root changes nothing for billing.
    await consul.kv.put(`${root}/shipping/data`, 'currency: GBP\n');

    await using config = consul.config({ name: 'billing', profiles: ['prod'], root, schema: Billing });
    expect(config.layers.map((layer) => layer.name)).toEqual([
      'application',
      'application,prod',
      'billing',
      'billing,prod',
    ]);
    const value = await config.ready();
    expect(value).toEqual({ db: { host: 'prod-db', pool: 20 }, currency: 'USD', features: ['b', 'c'] });
    expect(config.get('db.pool')).toBe(20);

    // Without the profile, the prod layers do not apply.
    await using plain = consul.config({ name: 'billing', root, schema: Billing });
    expect(await plain.ready()).toEqual({
      db: { host: 'shared-db', pool: 20 },
      currency: 'EUR',
      features: ['b', 'c'],
    });
  });

  it('applies a live change in one layer and reports the typed diff', async () => {
    const root = uniquePrefix('live');
    await consul.kv.put(`${root}/application/data`, 'db:\n  host: a\n  pool: 5\ncurrency: EUR\n');
    await using config = consul.config({ name: 'billing', profiles: ['prod'], root, schema: Billing });
    await config.ready();

    const changed = next(config, 'change');
    await consul.kv.put(`${root}/billing,prod/data`, 'db:\n  pool: 9\nfeatures: [fast]\n');
    const change = await changed;
    expect(change.value).toEqual({ db: { host: 'a', pool: 9 }, currency: 'EUR', features: ['fast'] });
    expect(change.previous.db.pool).toBe(5);
    expect(change.diff).toEqual([
      { path: ['db', 'pool'], kind: 'changed', before: 5, after: 9 },
      { path: ['features'], kind: 'changed', before: [], after: ['fast'] },
    ]);
    expect(config.value?.db.pool).toBe(9);
  });

  it('keeps the last good config when a layer gets a bad value, and names the key', async () => {
    const root = uniquePrefix('bad');
    await consul.kv.put(`${root}/application/data`, 'db:\n  host: a\n  pool: 5\ncurrency: EUR\n');
    await consul.kv.put(`${root}/billing/data`, 'db:\n  pool: 7\n');
    await using config = consul.config({ name: 'billing', root, schema: Billing });
    const good = await config.ready();

    // Valid YAML, but the schema refuses it.
    let failed = next(config, 'error');
    await consul.kv.put(`${root}/billing/data`, 'db:\n  pool: -1\n');
    const schemaError = await failed;
    expect(schemaError).toBeInstanceOf(ConfigSchemaError);
    expect((schemaError as ConfigSchemaError).consulKey).toBe(`${root}/billing/data`);
    expect((schemaError as ConfigSchemaError).path).toEqual(['db', 'pool']);
    expect(schemaError.message).toContain('db.pool');
    expect(config.value).toEqual(good);

    // Not YAML at all.
    failed = next(config, 'error');
    await consul.kv.put(`${root}/application/data`, 'db: [unclosed\n');
    const decodeError = await failed;
    expect(decodeError).toBeInstanceOf(ConfigDecodeError);
    expect((decodeError as ConfigDecodeError).consulKey).toBe(`${root}/application/data`);
    expect(config.value).toEqual(good);

    // Fixing both brings changes again.
    await consul.kv.put(`${root}/application/data`, 'db:\n  host: a\n  pool: 5\ncurrency: EUR\n');
    const changed = next(config, 'change');
    await consul.kv.put(`${root}/billing/data`, 'db:\n  pool: 8\n');
    expect((await changed).value.db.pool).toBe(8);
  });

  it('a deleted layer drops out of the merge', async () => {
    const root = uniquePrefix('deleted');
    await consul.kv.put(`${root}/application/data`, 'db:\n  host: a\n  pool: 5\ncurrency: EUR\n');
    await consul.kv.put(`${root}/billing,prod/data`, 'db:\n  pool: 50\ncurrency: USD\n');
    await using config = consul.config({ name: 'billing', profiles: ['prod'], root, schema: Billing });
    expect((await config.ready()).currency).toBe('USD');

    const changed = next(config, 'change');
    await consul.kv.delete(`${root}/billing,prod/`, { recurse: true });
    const change = await changed;
    expect(change.value).toEqual({ db: { host: 'a', pool: 5 }, currency: 'EUR', features: [] });
    expect(change.diff.map((entry) => entry.path.join('.')).sort()).toEqual(['currency', 'db.pool']);
  });

  it('rejects ready() while the first load is bad, then recovers', async () => {
    const root = uniquePrefix('first');
    await consul.kv.put(`${root}/application/data`, 'currency: EURO\n');
    await using config = consul.config({ name: 'billing', root, schema: Billing });
    await expect(config.ready()).rejects.toBeInstanceOf(ConfigSchemaError);
    const recovered = new Promise((resolve) => {
      const poll = setInterval(() => {
        if (config.value !== undefined) {
          clearInterval(poll);
          resolve(config.value);
        }
      }, 20);
    });
    await consul.kv.put(`${root}/application/data`, 'db:\n  host: a\n  pool: 1\ncurrency: EUR\n');
    expect(await recovered).toEqual({ db: { host: 'a', pool: 1 }, currency: 'EUR', features: [] });
    expect((await config.ready()).currency).toBe('EUR');
  });

  const formats: Array<{ format: ConfigFormat; writes: Array<[string, string]> }> = [
    {
      format: 'yaml',
      writes: [
        ['application/data', 'db:\n  host: h\n  pool: 3\n'],
        ['billing/data', 'currency: CHF\n'],
      ],
    },
    {
      format: 'json',
      writes: [
        ['application/data', '{"db":{"host":"h","pool":3}}'],
        ['billing/data', '{"currency":"CHF"}'],
      ],
    },
    {
      format: 'properties',
      writes: [
        ['application/data', 'db.host=h\ndb.pool=3\n'],
        ['billing/data', 'currency = CHF\n'],
      ],
    },
    {
      format: 'files',
      writes: [
        ['application/db.yaml', 'db:\n  host: h\n'],
        ['application/db/pool', '3'],
        ['billing/currency', 'CHF'],
      ],
    },
  ];

  for (const { format, writes } of formats) {
    it(`reads the ${format} format`, async () => {
      const root = uniquePrefix(`format-${format}`);
      for (const [key, value] of writes) await consul.kv.put(`${root}/${key}`, value);
      // Properties and plain files carry text; the schema coerces the pool to a number.
      const schema = Billing.extend({ db: z.object({ host: z.string(), pool: z.coerce.number().int() }) });
      await using config = consul.config({ name: 'billing', root, format, schema });
      expect(await config.ready()).toEqual({ db: { host: 'h', pool: 3 }, currency: 'CHF', features: [] });
    });
  }

  it('works without a schema, giving the merged tree', async () => {
    const root = uniquePrefix('noschema');
    await consul.kv.put(`${root}/application/data`, '{"a":{"b":1}}');
    await consul.kv.put(`${root}/web/data`, '{"a":{"c":2}}');
    await using config = consul.config({ name: 'web', root, format: 'json' });
    expect(await config.ready()).toEqual({ a: { b: 1, c: 2 } });
  });

  it('stops when its signal aborts', async () => {
    const root = uniquePrefix('signal');
    await consul.kv.put(`${root}/application/data`, 'a: 1\n');
    const controller = new AbortController();
    const config = consul.config({ name: 'web', root, signal: controller.signal });
    expect(await config.ready()).toEqual({ a: 1 });
    controller.abort();
    for await (const value of config) expect(value).toEqual({ a: 1 });
    expect(config.closed).toBe(true);
    await expect(consul.config({ name: 'web', root, signal: AbortSignal.abort() }).ready()).rejects.toThrow();
  });

  it('refuses bad options before anything is sent', () => {
    const before = consul.stats().requests;
    expect(() => consul.config({ name: '' })).toThrow(ValidationError);
    expect(() => consul.config({ name: 'a', format: 'toml' as ConfigFormat })).toThrow(/format/);
    expect(() => consul.config({ name: 'a', root: '/abs' })).toThrow(/root/);
    expect(() => consul.config({ name: 'a', profiles: ['x/y'] })).toThrow(/profiles/);
    expect(() => consul.config({ name: 'a', dataKey: 'a/b' })).toThrow(/dataKey/);
    expect(() => consul.config({ name: 'a', schema: {} as never })).toThrow(/schema/);
    expect(consul.stats().requests).toBe(before);
  });
});
