import { describe, expect, it } from 'vitest';
import type { KVPair } from '../../src/api/kv.js';
import { ConfigDecodeError, ValidationError } from '../../src/errors.js';
import { layerSources, parseDocument } from '../../src/primitives/layered-config/formats.js';
import { configLayers, normalizeRoot } from '../../src/primitives/layered-config/layers.js';
import { diffConfig, mergeLayers } from '../../src/primitives/layered-config/merge.js';

const pair = (Key: string, value: string): KVPair => ({
  Key,
  Value: Buffer.from(value),
  CreateIndex: 1n,
  ModifyIndex: 1n,
  LockIndex: 0n,
  Flags: 0n,
});

describe('configLayers', () => {
  const defaults = { defaultName: 'application', separator: ',' };

  it('orders the layers as Spring does, lowest precedence first', () => {
    expect(configLayers('config', 'billing', ['prod', 'eu'], defaults).map((layer) => layer.folder)).toEqual([
      'config/application/',
      'config/application,prod/',
      'config/application,eu/',
      'config/billing/',
      'config/billing,prod/',
      'config/billing,eu/',
    ]);
  });

  it('does not repeat the shared layers when the name is the default one', () => {
    expect(configLayers('cfg', 'application', ['dev'], defaults).map((layer) => layer.name)).toEqual([
      'application',
      'application,dev',
    ]);
  });

  it('refuses names, profiles, separators and roots that would escape or collide', () => {
    expect(() => configLayers('config', 'a/b', [], defaults)).toThrow(ValidationError);
    expect(() => configLayers('config', 'billing', ['..'], defaults)).toThrow(/profiles\[0\]/);
    expect(() => configLayers('config', 'billing', ['x', 'x'], defaults)).toThrow(/repeat/);
    expect(() => configLayers('config', 'billing', [], { ...defaults, separator: '/' })).toThrow(
      /profileSeparator/,
    );
    expect(() => normalizeRoot('/config')).toThrow(ValidationError);
    expect(() => normalizeRoot('a//b')).toThrow(ValidationError);
    expect(normalizeRoot('apps/config/')).toBe('apps/config');
  });
});

describe('mergeLayers', () => {
  it('merges objects deeply, replaces arrays and scalars, and never shares values', () => {
    const base = { db: { host: 'db', pool: { min: 1, max: 5 } }, tags: ['a', 'b'], debug: false };
    const prod = { db: { pool: { max: 50 } }, tags: ['prod'], debug: true };
    const merged = mergeLayers([base, prod]);
    expect(merged).toEqual({ db: { host: 'db', pool: { min: 1, max: 50 } }, tags: ['prod'], debug: true });
    (merged['db'] as { host: string }).host = 'changed';
    expect(base.db.host).toBe('db');
  });

  it('lets a scalar replace an object and an object replace a scalar', () => {
    expect(mergeLayers([{ a: { b: 1 } }, { a: 'flat' }])).toEqual({ a: 'flat' });
    expect(mergeLayers([{ a: 'flat' }, { a: { b: 1 } }])).toEqual({ a: { b: 1 } });
  });

  it('ignores keys that would reach Object.prototype', () => {
    const merged = mergeLayers([
      JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as Record<string, unknown>,
    ]);
    expect(merged).toEqual({ ok: 1 });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('diffConfig', () => {
  it('reports added, changed and removed leaves with their paths', () => {
    const diff = diffConfig(
      { db: { host: 'a', port: 1 }, gone: true, list: [1] },
      { db: { host: 'b', port: 1, tls: true }, list: [1, 2] },
    );
    expect(diff).toEqual([
      { path: ['db', 'host'], kind: 'changed', before: 'a', after: 'b' },
      { path: ['db', 'tls'], kind: 'added', after: true },
      { path: ['list'], kind: 'changed', before: [1], after: [1, 2] },
      { path: ['gone'], kind: 'removed', before: true },
    ]);
    expect(diffConfig({ a: { b: [1, { c: 2 }] } }, { a: { b: [1, { c: 2 }] } })).toEqual([]);
  });
});

describe('parseDocument and layerSources', () => {
  it('parses each document format into a tree', () => {
    expect(parseDocument('db:\n  pool: 5\nnames: [a, b]\n', 'yaml')).toEqual({
      db: { pool: 5 },
      names: ['a', 'b'],
    });
    expect(parseDocument('{"db":{"pool":5}}', 'json')).toEqual({ db: { pool: 5 } });
    expect(parseDocument('db.pool=5\ndb.url = jdbc:x\\:1\n# comment\n', 'properties')).toEqual({
      db: { pool: '5', url: 'jdbc:x:1' },
    });
    expect(parseDocument('', 'yaml')).toEqual({});
    expect(() => parseDocument('- a\n- b\n', 'yaml')).toThrow(/mapping/);
    expect(() => parseDocument('"text"', 'json')).toThrow(/mapping/);
  });

  it('reads the data key of a layer, and names the key that fails to parse', () => {
    const pairs = [pair('config/billing/data', 'a: 1'), pair('config/billing/other', 'ignored: true')];
    expect(layerSources(pairs, 'config/billing/', 'config/', 'yaml', 'data')).toEqual([
      { key: 'config/billing/data', tree: { a: 1 } },
    ]);
    expect(layerSources(pairs, 'config/billing,prod/', 'config/', 'yaml', 'data')).toEqual([]);
    const bad = [pair('config/billing/data', 'a: [unclosed')];
    expect(() => layerSources(bad, 'config/billing/', 'config/', 'yaml', 'data')).toThrow(ConfigDecodeError);
    try {
      layerSources(bad, 'config/billing/', 'config/', 'yaml', 'data');
    } catch (error) {
      expect((error as ConfigDecodeError).consulKey).toBe('config/billing/data');
      expect((error as ConfigDecodeError).key).toBe('billing/data');
    }
  });

  it('files: parses files by extension and takes other keys as values at their path', () => {
    const pairs = [
      pair('config/billing/', ''),
      pair('config/billing/db.yml', 'db:\n  pool: 5\n'),
      pair('config/billing/db/host', 'db.internal'),
      pair('config/billing/extra.json', '{"feature":{"x":true}}'),
      pair('config/billing/limits.properties', 'limits.rps=10'),
    ];
    const sources = layerSources(pairs, 'config/billing/', 'config/', 'files', 'data');
    expect(sources.map((source) => source.key)).toEqual([
      'config/billing/db.yml',
      'config/billing/db/host',
      'config/billing/extra.json',
      'config/billing/limits.properties',
    ]);
    expect(mergeLayers(sources.map((source) => source.tree))).toEqual({
      db: { pool: 5, host: 'db.internal' },
      feature: { x: true },
      limits: { rps: '10' },
    });
  });
});
