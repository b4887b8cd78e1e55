import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import {
  checkOptionKeys,
  editDistance,
  optionKeys,
  suggestOption,
  UnknownOptionError,
} from '../../src/options-check.js';
import { LOCK_OPTION_KEYS, SESSION_OPTION_KEYS } from '../../src/primitives/session/session-options.js';
import { CONSUL_OPTION_KEYS, resolveConfig } from '../../src/config.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and adjacent transpositions as one edit each', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('ttl', 'ttl')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('lockDelya', 'lockDelay')).toBe(1); // transposition
    expect(editDistance('lockDelai', 'lockDelay')).toBe(1); // substitution
    expect(editDistance('lokDelay', 'lockDelay')).toBe(1); // insertion
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('is symmetric and zero only for equal strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const distance = editDistance(a, b);
        expect(distance).toBe(editDistance(b, a));
        expect(distance === 0).toBe(a === b);
        expect(distance).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
  });
});

describe('suggestOption', () => {
  it('suggests the closest known key within 2 edits, ignoring case', () => {
    expect(suggestOption('lockDelya', LOCK_OPTION_KEYS)).toBe('lockDelay');
    expect(suggestOption('TTL', LOCK_OPTION_KEYS)).toBe('ttl');
    expect(suggestOption('sesion', LOCK_OPTION_KEYS)).toBe('session');
    expect(suggestOption('heartbeats', LOCK_OPTION_KEYS)).toBe('heartbeat');
  });

  it('suggests nothing when no key is close, or for a key too short to be a misspelling', () => {
    expect(suggestOption('retries', LOCK_OPTION_KEYS)).toBeUndefined();
    expect(suggestOption('x', ['id'])).toBeUndefined();
  });
});

describe('checkOptionKeys', () => {
  it('throws UnknownOptionError (a ValidationError) naming the key, the entry point and the suggestion', () => {
    const error = thrown(() => checkOptionKeys({ ttl: '10s', lockDelya: '0s' }, LOCK_OPTION_KEYS, 'lock()'));
    expect(error).toBeInstanceOf(UnknownOptionError);
    expect(error).toBeInstanceOf(ValidationError);
    const unknown = error as UnknownOptionError;
    expect(unknown.code).toBe('VALIDATION');
    expect(unknown.field).toBe('lockDelya');
    expect(unknown.suggestion).toBe('lockDelay');
    expect(unknown.message).toBe("lockDelya: unknown option of lock(); did you mean 'lockDelay'?");
  });

  it('lists the known keys when none is close', () => {
    const error = thrown(() => checkOptionKeys({ colour: 'red' }, ['ttl', 'value'], 'lock()'));
    expect((error as UnknownOptionError).suggestion).toBeUndefined();
    expect((error as Error).message).toBe('colour: unknown option of lock() (known: ttl, value)');
  });

  it('refuses a misspelt key whose value is undefined', () => {
    const error = thrown(() => checkOptionKeys({ lockDelya: undefined }, LOCK_OPTION_KEYS, 'lock()'));
    expect((error as UnknownOptionError).field).toBe('lockDelya');
  });

  it('puts the path of a nested object in the field and the suggestion', () => {
    const error = thrown(() =>
      checkOptionKeys({ serverNmae: 'consul' }, ['ca', 'serverName'], 'new Consul()', 'tls'),
    );
    expect((error as UnknownOptionError).field).toBe('tls.serverNmae');
    expect((error as UnknownOptionError).suggestion).toBe('tls.serverName');
  });

  it('refuses keys that only exist on Object.prototype', () => {
    for (const key of ['toString', 'constructor', 'hasOwnProperty', '__proto__']) {
      const options = JSON.parse(`{"${key}": 1}`) as object;
      expect((thrown(() => checkOptionKeys(options, ['ttl'], 'lock()')) as UnknownOptionError).field).toBe(
        key,
      );
    }
  });

  it('leaves non-objects to the caller and ignores inherited keys', () => {
    for (const value of [undefined, null, 3, 'ttl', true, ['ttl']])
      expect(() => checkOptionKeys(value, ['ttl'], 'lock()')).not.toThrow();
    const inherited = Object.create({ lockDelya: '0s' }) as object;
    expect(() => checkOptionKeys(inherited, ['ttl'], 'lock()')).not.toThrow();
  });

  it('never modifies the options', () => {
    const options = Object.freeze({ ttl: '10s', lockDelay: '1s' });
    checkOptionKeys(options, LOCK_OPTION_KEYS, 'lock()');
    expect(options).toEqual({ ttl: '10s', lockDelay: '1s' });
  });

  // The property of the brief: any set of known keys passes, any key off the list is refused.
  it('accepts every subset of the known keys and refuses every key off the list, whatever the values', () => {
    const known = CONSUL_OPTION_KEYS;
    fc.assert(
      fc.property(
        fc.subarray([...known]),
        fc
          .string({ minLength: 1, maxLength: 20 })
          .filter((key) => !(known as readonly string[]).includes(key)),
        fc.anything(),
        fc.boolean(),
        (keys, unknownKey, value, unknownFirst) => {
          const good = Object.fromEntries(keys.map((key) => [key, value]));
          expect(() => checkOptionKeys(good, known, 'new Consul()')).not.toThrow();
          const entries: [string, unknown][] = Object.entries(good);
          if (unknownFirst) entries.unshift([unknownKey, value]);
          else entries.push([unknownKey, value]);
          // defineProperty, so that `__proto__` becomes an own key as JSON input would make it.
          const bad = {};
          for (const [key, entry] of entries)
            Object.defineProperty(bad, key, { value: entry, enumerable: true });
          const error = thrown(() => checkOptionKeys(bad, known, 'new Consul()'));
          expect(error).toBeInstanceOf(UnknownOptionError);
          expect((error as UnknownOptionError).field).toBe(unknownKey);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('optionKeys', () => {
  it('returns the list frozen, composed lists keeping the base keys', () => {
    const list = optionKeys<{ a?: number; b?: string }>()(['a', 'b']);
    expect(list).toEqual(['a', 'b']);
    expect(Object.isFrozen(list)).toBe(true);
    expect(LOCK_OPTION_KEYS).toEqual([...SESSION_OPTION_KEYS, 'value']);
  });

  it('makes a list that leaves a key out, or names one that does not exist, fail to typecheck', () => {
    interface Options {
      a?: number;
      b?: string;
    }
    // @ts-expect-error -- 'b' is not listed
    optionKeys<Options>()(['a']);
    // @ts-expect-error -- 'c' is not a key of Options
    optionKeys<Options>()(['a', 'b', 'c']);
    expect(optionKeys<Options>()(['a', 'b'])).toHaveLength(2);
  });
});

describe('new Consul() options resolution', () => {
  it('refuses a misspelt top-level, tls or retry option before resolving anything', () => {
    const field = (options: object): string =>
      (thrown(() => resolveConfig({ env: {}, ...options })) as UnknownOptionError).field;
    expect(field({ adress: 'http://127.0.0.1:8500' })).toBe('adress');
    expect(field({ tls: { serverNmae: 'consul' } })).toBe('tls.serverNmae');
    expect(field({ retry: { retires: 1 } })).toBe('retry.retires');
  });
});
