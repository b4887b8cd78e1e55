import { describe, expect, it } from 'vitest';
import type { KVPair } from '../../src/api/kv.js';
import { ConfigDecodeError, ConsulError, ValidationError } from '../../src/errors.js';
import {
  normalizeConfigPrefix,
  reconcileConfig,
  resolveDecoder,
  type ConfigKeyState,
} from '../../src/primitives/config/config-decoders.js';

function pair(key: string, value: string, modifyIndex: number): KVPair {
  return {
    Key: key,
    Value: Buffer.from(value),
    CreateIndex: 1n,
    ModifyIndex: BigInt(modifyIndex),
    LockIndex: 0n,
    Flags: 0n,
  };
}

const json = resolveDecoder('json');
const none = new Map<string, ConfigKeyState<unknown>>();

describe('resolveDecoder', () => {
  it("decodes UTF-8 text by default and with 'string'", () => {
    expect(resolveDecoder()(Buffer.from('héllo'), 'k')).toBe('héllo');
    expect(resolveDecoder('string')(Buffer.from('42'), 'k')).toBe('42');
  });

  it("parses JSON with 'json' and throws on invalid JSON", () => {
    expect(json(Buffer.from('{"a":[1,true]}'), 'k')).toEqual({ a: [1, true] });
    expect(() => json(Buffer.from('{nope'), 'k')).toThrow(SyntaxError);
  });

  it("gives a copy of the bytes with 'buffer'", () => {
    const raw = Buffer.from([1, 2, 3]);
    const decoded = resolveDecoder('buffer')(raw, 'k') as Buffer;
    expect(decoded).toEqual(raw);
    decoded[0] = 9;
    expect(raw[0]).toBe(1);
  });

  it('uses a function as it is, with the relative key', () => {
    const seen: string[] = [];
    const decode = resolveDecoder((value: Buffer, key: string) => {
      seen.push(key);
      return value.length;
    });
    expect(decode(Buffer.from('abcd'), 'db/host')).toBe(4);
    expect(seen).toEqual(['db/host']);
  });

  it('rejects anything else', () => {
    expect(() => resolveDecoder('yaml')).toThrow(ValidationError);
    expect(() => resolveDecoder(42)).toThrow(/decode/);
  });
});

describe('normalizeConfigPrefix', () => {
  it('treats the prefix as a folder', () => {
    expect(normalizeConfigPrefix('app/config')).toBe('app/config/');
    expect(normalizeConfigPrefix('app/config/')).toBe('app/config/');
    expect(normalizeConfigPrefix('')).toBe('');
  });

  it('rejects a leading slash and non-strings', () => {
    expect(() => normalizeConfigPrefix('/app')).toThrow(ValidationError);
    expect(() => normalizeConfigPrefix(undefined)).toThrow(ValidationError);
  });
});

describe('reconcileConfig', () => {
  it('makes keys relative, skips folders and keys outside the prefix, keeps key order', () => {
    const result = reconcileConfig(
      none,
      [
        pair('app/', '', 1),
        pair('app/a', '1', 2),
        pair('app/db/', '', 3),
        pair('app/db/host', '"h"', 4),
        pair('app/dir/', '"not a folder: it has a value"', 5),
        pair('application', '2', 6),
      ],
      'app/',
      json,
    );
    expect([...result.values]).toEqual([
      ['a', 1],
      ['db/host', 'h'],
      ['dir/', 'not a folder: it has a value'],
    ]);
    expect(result.added).toEqual(['a', 'db/host', 'dir/']);
    expect(result.changed).toEqual([]);
    expect(result.removed).toEqual([]);
    expect(result.errors).toEqual([]);
  });

  it('tells added, changed and removed keys apart', () => {
    const first = reconcileConfig(
      none,
      [pair('p/a', '1', 1), pair('p/b', '2', 2), pair('p/c', '3', 3)],
      'p/',
      json,
    );
    const second = reconcileConfig(
      first.states,
      [pair('p/a', '1', 1), pair('p/b', '20', 7), pair('p/d', '4', 8)],
      'p/',
      json,
    );
    expect(second.added).toEqual(['d']);
    expect(second.changed).toEqual(['b']);
    expect(second.removed).toEqual(['c']);
    expect(Object.fromEntries(second.values)).toEqual({ a: 1, b: 20, d: 4 });
  });

  it('does not count a rewrite with the same bytes as a change, nor decode an unchanged version', () => {
    let calls = 0;
    const counting = (value: Buffer): string => {
      calls += 1;
      return value.toString();
    };
    const first = reconcileConfig(new Map(), [pair('p/a', 'x', 1)], 'p/', counting);
    expect(calls).toBe(1);
    const same = reconcileConfig(first.states, [pair('p/a', 'x', 1)], 'p/', counting);
    const rewritten = reconcileConfig(same.states, [pair('p/a', 'x', 2)], 'p/', counting);
    expect(calls).toBe(1);
    expect([...same.added, ...same.changed, ...rewritten.added, ...rewritten.changed]).toEqual([]);
    expect(rewritten.states.get('a')?.modifyIndex).toBe(2n);
  });

  it('does not count a rewrite that decodes to an equal value as a change, and keeps the same object', () => {
    const first = reconcileConfig(none, [pair('p/db', '{"pool":5,"hosts":["a","b"]}', 5)], 'p/', json);
    const before = first.values.get('db');
    const rewritten = reconcileConfig(
      first.states,
      [pair('p/db', '{ "hosts": [ "a", "b" ],\n  "pool": 5 }', 6)],
      'p/',
      json,
    );
    expect(rewritten.changed).toEqual([]);
    expect(rewritten.added).toEqual([]);
    expect(rewritten.values.get('db')).toBe(before);
    // The next real change is still seen, against the new bytes.
    const resized = reconcileConfig(
      rewritten.states,
      [pair('p/db', '{"pool":6,"hosts":["a","b"]}', 7)],
      'p/',
      json,
    );
    expect(resized.changed).toEqual(['db']);
    expect(resized.values.get('db')).toEqual({ pool: 6, hosts: ['a', 'b'] });
    // Order inside an array is part of the value.
    const reordered = reconcileConfig(
      resized.states,
      [pair('p/db', '{"pool":6,"hosts":["b","a"]}', 8)],
      'p/',
      json,
    );
    expect(reordered.changed).toEqual(['db']);
  });

  it('after a broken version, a rewrite equal to the last good value is not a change', () => {
    const first = reconcileConfig(none, [pair('p/db', '{"pool":5}', 5)], 'p/', json);
    const broken = reconcileConfig(first.states, [pair('p/db', '{"pool":', 6)], 'p/', json);
    expect(broken.errors).toHaveLength(1);
    const restored = reconcileConfig(broken.states, [pair('p/db', '{ "pool": 5 }', 7)], 'p/', json);
    expect(restored.changed).toEqual([]);
    expect(restored.errors).toEqual([]);
    expect(restored.values.get('db')).toEqual({ pool: 5 });
  });

  it('keeps the last good value of a key that fails to decode, reports it once, and recovers', () => {
    const first = reconcileConfig(none, [pair('p/a', '{"v":1}', 1)], 'p/', json);
    const broken = reconcileConfig(first.states, [pair('p/a', '{oops', 2)], 'p/', json);
    expect(broken.values.get('a')).toEqual({ v: 1 });
    expect([...broken.added, ...broken.changed, ...broken.removed]).toEqual([]);
    expect(broken.errors).toHaveLength(1);
    const error = broken.errors[0];
    expect(error).toBeInstanceOf(ConfigDecodeError);
    expect(error).toBeInstanceOf(ConsulError);
    expect(error?.code).toBe('DECODE');
    expect(error?.key).toBe('a');
    expect(error?.consulKey).toBe('p/a');
    expect(error?.cause).toBeInstanceOf(SyntaxError);

    // The same broken version seen again (another key changed) is not reported again.
    const again = reconcileConfig(broken.states, [pair('p/a', '{oops', 2), pair('p/b', '2', 3)], 'p/', json);
    expect(again.errors).toEqual([]);
    expect(again.added).toEqual(['b']);

    const fixed = reconcileConfig(again.states, [pair('p/a', '{"v":2}', 4), pair('p/b', '2', 3)], 'p/', json);
    expect(fixed.changed).toEqual(['a']);
    expect(fixed.values.get('a')).toEqual({ v: 2 });
  });

  it('leaves out a key that never decoded, and adds it once it does', () => {
    const broken = reconcileConfig(none, [pair('p/a', 'nope', 1)], 'p/', json);
    expect(broken.values.has('a')).toBe(false);
    expect(broken.errors).toHaveLength(1);
    const deleted = reconcileConfig(broken.states, [], 'p/', json);
    expect(deleted.removed).toEqual([]);
    const fixed = reconcileConfig(broken.states, [pair('p/a', 'true', 2)], 'p/', json);
    expect(fixed.added).toEqual(['a']);
    expect(fixed.values.get('a')).toBe(true);
  });

  it('reports every key as removed when the prefix is deleted', () => {
    const first = reconcileConfig(none, [pair('p/a', '1', 1), pair('p/b/c', '2', 2)], 'p/', json);
    const gone = reconcileConfig(first.states, [], 'p/', json);
    expect(gone.removed).toEqual(['a', 'b/c']);
    expect(gone.values.size).toBe(0);
  });

  it('watches the whole store with an empty prefix', () => {
    const result = reconcileConfig(
      none,
      [pair('a', '1', 1), pair('b/', '', 2), pair('b/c', '2', 3)],
      '',
      json,
    );
    expect([...result.values.keys()]).toEqual(['a', 'b/c']);
  });
});
