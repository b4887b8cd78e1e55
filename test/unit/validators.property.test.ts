import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateKey, validatePrefix } from '../../src/api/kv.js';
import { segment } from '../../src/api/validate.js';
import { formatDuration, toMilliseconds } from '../../src/duration.js';
import { ValidationError } from '../../src/errors.js';
import { validateToken } from '../../src/transport/token.js';

/** Whether `fn` throws a ValidationError (any other throw fails the property). */
function refuses(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return true;
  }
}

// Keys built from the pieces that matter to a path router, plus arbitrary text.
const keyPiece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('a', 'app', 'x.y', '.hidden', '...', '%2E', ' ', '?q', '#') },
  { weight: 2, arbitrary: fc.constantFrom('.', '..', '') },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 4 }) },
);
const keyLike = fc.array(keyPiece, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/'));

/**
 * The oracle: Go's ServeMux answers 301 to a path its cleaning changes (path.Clean, keeping a
 * trailing slash), which is what posix.normalize computes.
 */
const routerKeeps = (path: string): boolean => posix.normalize(path) === path;

describe('key and prefix validation (property)', () => {
  it('accepts exactly the keys the HTTP router would leave alone', () => {
    fc.assert(
      fc.property(keyLike, (key) => {
        fc.pre(!key.startsWith('/') && key !== '');
        expect(refuses(() => validateKey(key))).toBe(!routerKeeps(`/v1/kv/${key}`));
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts exactly the prefixes the HTTP router would leave alone, and the empty prefix', () => {
    fc.assert(
      fc.property(fc.oneof(keyLike, fc.constant('')), (prefix) => {
        fc.pre(!prefix.startsWith('/'));
        const kept = prefix === '' || routerKeeps(`/v1/kv/${prefix}`);
        expect(refuses(() => validatePrefix(prefix))).toBe(!kept);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses non-strings, empty keys and leading slashes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything().filter((v) => typeof v !== 'string'),
          fc.constant(''),
        ),
        (value) => {
          expect(refuses(() => validateKey(value))).toBe(true);
        },
      ),
    );
    fc.assert(
      fc.property(fc.string(), (rest) => {
        expect(refuses(() => validateKey(`/${rest}`))).toBe(true);
      }),
    );
  });
});

describe('name segments (property)', () => {
  it('accepts a name iff it is non-blank, has no slash and is not . or ..; it round-trips through the path', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom('.', '..', '/', ' ', 'a/b', 'web')), (name) => {
        const valid = name.trim() !== '' && !name.includes('/') && name !== '.' && name !== '..';
        if (!valid) {
          expect(refuses(() => segment('name', name))).toBe(true);
          return;
        }
        const encoded = segment('name', name);
        expect(decodeURIComponent(encoded)).toBe(name);
        expect(routerKeeps(`/v1/catalog/service/${encoded}`)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('token validation (property)', () => {
  const printable = fc.string({
    unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength: 1,
  });

  it('accepts every non-empty printable-ASCII token unchanged', () => {
    fc.assert(
      fc.property(printable, (token) => {
        expect(validateToken(token)).toBe(token);
      }),
    );
  });

  it('refuses a token with any character outside printable ASCII, and never echoes the token', () => {
    const bad = fc.oneof(
      fc.constantFrom('\r', '\n', '\r\n', '\t', ' ', '\0', '\x7f', 'é', '\u2028', '😀'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }).filter((s) => /[^\x21-\x7e]/.test(s)),
    );
    fc.assert(
      fc.property(printable, bad, printable, (before, middle, after) => {
        // A distinctive prefix: the message must not carry any of the token.
        const token = `S3cr3tPrefix${before}${middle}${after}`;
        let error: unknown;
        try {
          validateToken(token);
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as Error).message).not.toContain('S3cr3tPrefix');
      }),
    );
  });

  it('refuses non-strings and the empty string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything().filter((v) => typeof v !== 'string'),
          fc.constant(''),
        ),
        (value) => {
          expect(refuses(() => validateToken(value))).toBe(true);
        },
      ),
    );
  });
});

const UNIT_MS = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

describe('durations (property)', () => {
  it('sums every Go-style composition of parts', () => {
    const part = fc.tuple(
      fc.oneof(
        fc.nat({ max: 100_000 }).map(String),
        fc.tuple(fc.nat(999), fc.nat(999)).map(([a, b]) => `${a}.${b}`),
      ),
      fc.constantFrom(...(Object.keys(UNIT_MS) as (keyof typeof UNIT_MS)[])),
    );
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const text = parts.map(([n, unit]) => `${n}${unit}`).join('');
        const sum = parts.reduce((total, [n, unit]) => total + Number(n) * UNIT_MS[unit], 0);
        expect(toMilliseconds(text)).toBeCloseTo(sum, 6);
      }),
    );
  });

  it('round-trips whole milliseconds through formatDuration', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), (ms) => {
        expect(toMilliseconds(formatDuration(ms))).toBe(ms);
      }),
    );
  });

  it('refuses negative, NaN, infinite and non-numeric-non-string values, and malformed strings', () => {
    const bad = fc.oneof(
      fc.double({ max: -Number.MIN_VALUE }),
      fc.constantFrom(
        Number.NaN,
        Infinity,
        -Infinity,
        '',
        ' 1s',
        '1s ',
        '-1s',
        '1',
        '1sec',
        '1.s',
        's',
        '1e3s',
      ),
      fc.anything().filter((v) => typeof v !== 'string' && typeof v !== 'number'),
    );
    fc.assert(
      fc.property(bad, (value) => {
        expect(refuses(() => toMilliseconds(value as never))).toBe(true);
      }),
    );
  });
});
