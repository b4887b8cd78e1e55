/**
 * JSON parsing that keeps Consul's uint64 fields exact.
 *
 * `JSON.parse` turns every number into a double, so the lock flag 3304740253564472344 would
 * come back as 3304740253564472300. Fields that Consul declares uint64 (indexes, `Flags`) are
 * therefore returned as `bigint`, exactly. Every other number, wherever it sits (the 16+ digit
 * float vectors of network coordinates, exponents, negatives, huge integers in fields that are
 * not uint64), comes out exactly as `JSON.parse` gives it.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';

/** Field names whose values Consul defines as uint64; they always parse to `bigint`. */
export const UINT64_FIELDS: ReadonlySet<string> = new Set([
  'CreateIndex',
  'ModifyIndex',
  'LockIndex',
  'Flags',
  'Index',
  'LTime',
  'ReplicatedIndex',
  'ReplicatedRoleIndex',
  'ReplicatedTokenIndex',
]);

/**
 * Marks integers that the slow path lifted out of the number grammar into strings. A
 * noncharacter plus a per-process random tag: legal inside JSON strings, never produced by
 * Consul, and not guessable by whoever writes a KV key or metadata value that starts with it.
 */
const MARK = `\ufdd0${randomBytes(6).toString('hex')}:`;

// Only an integer literal of 16+ digits can exceed 2^53; without such a run of digits anywhere
// in the text, the exact parser has nothing to rewrite.
const LONG_DIGITS = /\d{16,}/;

/** Converts one parsed value, given the name of the field that holds it. */
function lift(key: string, value: unknown): unknown {
  if (typeof value === 'number') {
    return UINT64_FIELDS.has(key) && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (typeof value === 'string') {
    if (!value.startsWith(MARK)) return value;
    const digits = value.slice(MARK.length);
    // Number() rounds a decimal string exactly as JSON.parse rounds the same literal.
    return UINT64_FIELDS.has(key) ? BigInt(digits) : Number(digits);
  }
  if (value !== null && typeof value === 'object') liftAll(value as Record<string, unknown>);
  return value;
}

/**
 * Walks a parsed tree in place. A walk after `JSON.parse` is several times cheaper than a
 * reviver, which V8 calls for every node including every string.
 */
function liftAll(node: Record<string, unknown> | unknown[]): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const item: unknown = node[i];
      if (typeof item === 'object' || typeof item === 'string') node[i] = lift('', item);
    }
    return;
  }
  for (const key in node) {
    const value = node[key];
    if (typeof value === 'object' || typeof value === 'string' || UINT64_FIELDS.has(key))
      node[key] = lift(key, value);
  }
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Rewrites every non-negative integer literal of 16 or more digits outside strings into a
 * marked string, so `JSON.parse` never rounds it. Each number token is read whole (sign,
 * integer part, fraction, exponent), so the digits of a fraction or an exponent are never
 * mistaken for an integer, and strings (keys, base64 values, metadata) are skipped. Text that
 * is not valid JSON stays invalid: a literal with a leading zero is left for JSON.parse to
 * refuse.
 */
function quoteLongIntegers(text: string): string {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const s = text.charCodeAt(i);
        if (s === 92 /* \ */) i += 2;
        else if (s === 34) break;
        else i++;
      }
      i++;
      continue;
    }
    if (c !== 45 /* - */ && !isDigit(c)) {
      i++;
      continue;
    }
    const negative = c === 45;
    if (negative) i++;
    const start = i;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    const digits = i - start;
    let plainInteger = true;
    if (text.charCodeAt(i) === 46 /* . */) {
      plainInteger = false;
      i++;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
    }
    const e = text.charCodeAt(i);
    if (e === 101 /* e */ || e === 69 /* E */) {
      plainInteger = false;
      i++;
      const sign = text.charCodeAt(i);
      if (sign === 43 /* + */ || sign === 45) i++;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
    }
    if (plainInteger && !negative && digits >= 16 && text.charCodeAt(start) !== 48 /* 0 */) {
      out += `${text.slice(last, start)}"${MARK}${text.slice(start, i)}"`;
      last = i;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * The walk of the common case, after a plain `JSON.parse`: numbers in uint64 fields become
 * bigints, and strings are never looked at (nothing was marked, so a value that happens to
 * start with a mark stays what Consul sent). Returns `false`, leaving the tree half-lifted,
 * on the first uint64 field whose integer `JSON.parse` may have rounded: every literal above
 * 2^53 - 1 parses to an unsafe integer, and every one below it parses exactly.
 */
function liftUint64Numbers(node: Record<string, unknown> | unknown[]): boolean {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const item: unknown = node[i];
      if (item !== null && typeof item === 'object' && !liftUint64Numbers(item as Record<string, unknown>))
        return false;
    }
    return true;
  }
  for (const key in node) {
    const value = node[key];
    if (typeof value === 'number') {
      if (Number.isInteger(value) && UINT64_FIELDS.has(key)) {
        if (!Number.isSafeInteger(value)) return false;
        node[key] = BigInt(value);
      }
    } else if (value !== null && typeof value === 'object') {
      if (!liftUint64Numbers(value as Record<string, unknown>)) return false;
    }
  }
  return true;
}

/**
 * Parses Consul JSON. uint64 fields become `bigint`; every other value is exactly what
 * `JSON.parse` gives. Throws `SyntaxError` exactly when `JSON.parse` would.
 *
 * The common case (every KV read, nearly every answer: no uint64 above 2^53 - 1) costs the
 * native `JSON.parse` and one walk over numbers and containers, with no scan of the text.
 * Only a body whose uint64 field holds a larger integer is parsed again by the exact
 * tokenizer. Other numbers need no care: outside uint64 fields, `JSON.parse`'s value is
 * the contract.
 */
export function parseConsulJson(text: string): unknown {
  if (text.length === 0) return undefined;
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object') return value;
  return liftUint64Numbers(value as Record<string, unknown>) ? value : parseConsulJsonExact(text);
}

/**
 * The exact parser alone: every long integer goes through the tokenizer and every string is
 * checked for a mark. Gives what {@link parseConsulJson} gives for every text; property
 * tests compare the two.
 *
 * @internal
 */
export function parseConsulJsonExact(text: string): unknown {
  if (text.length === 0) return undefined;
  const source = LONG_DIGITS.test(text) ? quoteLongIntegers(text) : text;
  return lift('', JSON.parse(source));
}

const BIGINT_MARKS = new RegExp(`"${MARK}(\\d+)"`, 'g');

/**
 * Serialises a request body. `bigint` values are written as bare JSON integers, exactly,
 * which `JSON.stringify` alone refuses to do.
 */
export function stringifyConsulJson(value: unknown): string {
  const marks: string[] = [];
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') {
      marks.push(v.toString());
      return `${MARK}${marks.length - 1}`;
    }
    return v;
  });
  if (marks.length === 0) return json;
  return json.replace(BIGINT_MARKS, (_m, index: string) => marks[Number(index)] as string);
}
