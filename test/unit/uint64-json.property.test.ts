import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseConsulJson,
  parseConsulJsonExact,
  stringifyConsulJson,
  UINT64_FIELDS,
} from '../../src/transport/uint64-json.js';

/** A JSON document as a tree that remembers each number's literal text. */
type Doc =
  | { kind: 'number'; literal: string }
  | { kind: 'string'; value: string }
  | { kind: 'const'; value: true | false | null }
  | { kind: 'array'; items: Doc[] }
  | { kind: 'object'; entries: [string, Doc][] };

const digits = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });

/** Every number shape JSON allows: sign, huge integers, long fractions, exponents, -0. */
const numberLiteral: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.boolean(),
      fc.oneof(
        fc.constant('0'),
        fc.tuple(fc.constantFrom(...'123456789'), digits(0, 30)).map(([a, b]) => a + b),
      ),
      fc.option(digits(1, 25), { nil: undefined }),
      fc.option(
        fc
          .tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 4))
          .map((p) => p.join('')),
        { nil: undefined },
      ),
    )
    .map(
      ([negative, int, fraction, exponent]) =>
        `${negative ? '-' : ''}${int}${fraction === undefined ? '' : `.${fraction}`}${exponent ?? ''}`,
    ),
  // The shapes that broke or could break the parser, on their own.
  fc.constantFrom(
    '0.0005246854734420745',
    '-0',
    '-0.0',
    '3304740253564472344',
    '16210313421097356768',
    '18446744073709551615',
    '9007199254740993',
    '1e400',
    '-1.5e-400',
    '12345678901234567.5',
    '1234567890123456789e2',
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
);

const fieldName = fc.oneof(
  fc.constantFrom(...UINT64_FIELDS, 'Vec', 'Error', 'Height', 'Adjustment', 'Coord', 'Key', 'Value'),
  fc.string().filter((key) => key !== '__proto__'),
);

const stringValue = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  digits(14, 30),
  fc.constantFrom('"', '\\', '\\"12345678901234567890\\"', '\ufdd0u64:123', '0.0005246854734420745'),
);

const { doc } = fc.letrec<{ doc: Doc }>((tie) => ({
  doc: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberLiteral.map((literal): Doc => ({ kind: 'number', literal })),
    stringValue.map((value): Doc => ({ kind: 'string', value })),
    fc.constantFrom(true, false, null).map((value): Doc => ({ kind: 'const', value })),
    fc.array(tie('doc'), { maxLength: 5 }).map((items): Doc => ({ kind: 'array', items })),
    fc
      .array(fc.tuple(fieldName, tie('doc')), { maxLength: 6 })
      .map((entries): Doc => ({ kind: 'object', entries })),
  ),
}));

const space = fc.constantFrom('', ' ', '\n  ', '\t');

/** Renders a document, with arbitrary whitespace between tokens. */
function render(node: Doc, ws: string): string {
  switch (node.kind) {
    case 'number':
      return node.literal;
    case 'string':
      return JSON.stringify(node.value);
    case 'const':
      return String(node.value);
    case 'array':
      return `[${ws}${node.items.map((item) => render(item, ws)).join(`,${ws}`)}${ws}]`;
    case 'object':
      return `{${ws}${node.entries.map(([key, value]) => `${JSON.stringify(key)}${ws}:${ws}${render(value, ws)}`).join(`,${ws}`)}${ws}}`;
  }
}

/**
 * The contract, written independently of the parser: JSON.parse's value everywhere, except
 * that a uint64 field holding an integer is a bigint, exact to the literal when the literal
 * is a plain non-negative integer.
 */
function expected(node: Doc, field: string): unknown {
  switch (node.kind) {
    case 'number': {
      const parsed = JSON.parse(node.literal) as number;
      if (!UINT64_FIELDS.has(field) || !Number.isInteger(parsed)) return parsed;
      return /^\d+$/.test(node.literal) ? BigInt(node.literal) : BigInt(parsed);
    }
    case 'string':
    case 'const':
      return node.value;
    case 'array':
      return node.items.map((item) => expected(item, ''));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, value] of node.entries) out[key] = expected(value, key);
      return out;
    }
  }
}

describe('parseConsulJson (property)', () => {
  it('gives what JSON.parse gives for every number shape, and exact bigints in uint64 fields', () => {
    fc.assert(
      fc.property(doc, space, (tree, ws) => {
        const text = render(tree, ws);
        expect(parseConsulJson(text)).toStrictEqual(expected(tree, ''));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with JSON.parse on fast-check JSON texts without uint64 fields', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        fc.pre(![...UINT64_FIELDS].some((field) => text.includes(`"${field}"`)));
        expect(parseConsulJson(text)).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses exactly the texts JSON.parse refuses', () => {
    const mangled = fc
      .tuple(doc, fc.nat(), fc.constantFrom('', '0', '-', '.', 'e', '"', ',', '}', ']', '01234567890123456'))
      .map(([tree, at, insert]) => {
        const text = render(tree, '');
        const position = text.length === 0 ? 0 : at % text.length;
        return text.slice(0, position) + insert + text.slice(position);
      });
    fc.assert(
      fc.property(mangled, (text) => {
        let jsonParseThrew = false;
        try {
          JSON.parse(text);
        } catch {
          jsonParseThrew = true;
        }
        if (jsonParseThrew) expect(() => parseConsulJson(text)).toThrow(SyntaxError);
        else expect(() => parseConsulJson(text)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips bigints through stringifyConsulJson exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.string(), (flags, key) => {
        const text = stringifyConsulJson({ Key: key, Flags: flags, ModifyIndex: flags });
        expect(parseConsulJson(text)).toStrictEqual({ Key: key, Flags: flags, ModifyIndex: flags });
      }),
    );
  });

  it('takes the fast path to the same result as the exact parser, for any document', () => {
    fc.assert(
      fc.property(doc, space, (tree, ws) => {
        const text = render(tree, ws);
        expect(parseConsulJson(text)).toStrictEqual(parseConsulJsonExact(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives exact KV entries, whether their indexes and flags fit in 53 bits or not', () => {
    const uint64 = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 53n }),
      fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
    );
    const entry = fc
      .record(
        {
          LockIndex: uint64,
          Key: fc.oneof(fc.string(), digits(16, 24)),
          Flags: uint64,
          // Base64 of bytes can hold long digit runs, which send a body to the tokenizer.
          Value: fc.oneof(
            fc.constant(null),
            fc.uint8Array({ maxLength: 48 }).map((bytes) => Buffer.from(bytes).toString('base64')),
            digits(16, 40),
          ),
          Session: fc.uuid(),
          CreateIndex: uint64,
          ModifyIndex: uint64,
        },
        { requiredKeys: ['LockIndex', 'Key', 'Flags', 'Value', 'CreateIndex', 'ModifyIndex'] },
        // fast-check's records have no prototype; parsed JSON objects have Object's.
      )
      .map((record) => ({ ...record }));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 4 }), (entries) => {
        const text = stringifyConsulJson(entries);
        const parsed = parseConsulJson(text);
        expect(parsed).toStrictEqual(entries);
        expect(parsed).toStrictEqual(parseConsulJsonExact(text));
      }),
      { numRuns: 1000 },
    );
  });
});
