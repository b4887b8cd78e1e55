/**
 * JSON parsing that keeps Consul's uint64 fields exact.
 *
 * `JSON.parse` turns every number into a double, so the lock flag 3304740253564472344 would
 * come back as 3304740253564472300. Fields that Consul declares uint64 (indexes, `Flags`) are
 * therefore returned as `bigint`, and any other integer too large for a double is kept as an
 * exact decimal string rather than silently rounded.
 *
 * @packageDocumentation
 */

/** Field names whose values Consul defines as uint64; they always parse to `bigint`. */
export const UINT64_FIELDS: ReadonlySet<string> = new Set([
  'CreateIndex',
  'ModifyIndex',
  'LockIndex',
  'Flags',
  'Index',
  'LTime',
]);

/** Marks integers that the slow path lifted out of the number grammar into strings. */
// A noncharacter prefix: legal inside JSON strings, and never produced by Consul.
const MARK = '\ufdd0u64:';

// Any run of 16+ digits may exceed 2^53; shorter runs are always exact as doubles.
const LONG_DIGITS = /\d{16,}/;

/** Converts one parsed value, given the name of the field that holds it. */
function lift(key: string, value: unknown): unknown {
  if (typeof value === 'number') {
    return UINT64_FIELDS.has(key) && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (typeof value === 'string') {
    if (!value.startsWith(MARK)) return value;
    const digits = value.slice(MARK.length);
    if (UINT64_FIELDS.has(key)) return BigInt(digits);
    const asNumber = Number(digits);
    return Number.isSafeInteger(asNumber) ? asNumber : digits;
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

/**
 * Rewrites every bare non-negative integer literal of 16 or more digits outside strings into
 * a marked string, so `JSON.parse` never sees it as a number. Walks the text once, tracking
 * string state, so digits inside string values (keys, base64 values, metadata) are untouched.
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
    if (c >= 48 && c <= 57) {
      const start = i;
      while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
      const next = text.charCodeAt(i);
      const isPlainInteger = next !== 46 /* . */ && next !== 101 /* e */ && next !== 69; /* E */
      const prev = text.charCodeAt(start - 1);
      if (isPlainInteger && prev !== 45 /* - */ && i - start >= 16) {
        out += text.slice(last, start) + `"${MARK}${text.slice(start, i)}"`;
        last = i;
      }
      continue;
    }
    i++;
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * Parses Consul JSON. uint64 fields become `bigint`; other integers above 2^53 become exact
 * decimal strings. Everything else is as `JSON.parse` gives it.
 */
export function parseConsulJson(text: string): unknown {
  if (text.length === 0) return undefined;
  const source = LONG_DIGITS.test(text) ? quoteLongIntegers(text) : text;
  return lift('', JSON.parse(source));
}

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
  return json.replace(/"\ufdd0u64:(\d+)"/g, (_m, index: string) => marks[Number(index)] as string);
}
