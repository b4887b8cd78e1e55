/**
 * Durations as Consul writes them (`'15s'`, `'1m30s'`, `'250ms'`) or as milliseconds.
 *
 * @packageDocumentation
 */
import { ValidationError } from './errors.js';

/** A duration: milliseconds as a number, or a Go/Consul duration string such as `'15s'` or `'1m30s'`. */
export type Duration = number | string;

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
});

const PART = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/**
 * Converts a {@link Duration} to milliseconds.
 *
 * @param value - milliseconds, or a Go duration string (`'1h2m3.5s'`, `'300ms'`; a bare `'0'` is allowed)
 * @param field - the option name, used in the error message
 * @throws ValidationError when the value is negative, not finite, or not a valid duration string
 */
export function toMilliseconds(value: Duration, field = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new ValidationError(
        field,
        `expected a non-negative number of milliseconds, got ${String(value)}`,
      );
    }
    return value;
  }
  if (typeof value !== 'string') {
    throw new ValidationError(
      field,
      `expected milliseconds or a duration string like '15s', got ${typeof value}`,
    );
  }
  if (value === '0') return 0;
  let total = 0;
  PART.lastIndex = 0;
  let consumed = 0;
  while (consumed < value.length) {
    PART.lastIndex = consumed;
    const match = PART.exec(value);
    if (!match) break;
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    consumed = PART.lastIndex;
  }
  if (value.length === 0 || consumed !== value.length) {
    throw new ValidationError(
      field,
      `'${value}' is not a duration; use e.g. '15s', '1m30s', '250ms' or milliseconds`,
    );
  }
  return total;
}

/**
 * Formats milliseconds the way Consul parses durations. Whole seconds become `'15s'`,
 * anything else `'1500ms'`, so the value round-trips exactly.
 */
export function formatDuration(ms: number): string {
  const rounded = Math.round(ms);
  if (rounded % 1000 === 0) return `${rounded / 1000}s`;
  return `${rounded}ms`;
}

/**
 * Validates a duration against inclusive bounds and returns it in milliseconds.
 *
 * @throws ValidationError when the duration is malformed or outside `[minMs, maxMs]`
 */
export function boundedDuration(value: Duration, field: string, minMs: number, maxMs: number): number {
  const ms = toMilliseconds(value, field);
  if (ms < minMs || ms > maxMs) {
    throw new ValidationError(
      field,
      `${formatDuration(ms)} is outside the allowed range ${formatDuration(minMs)}–${formatDuration(maxMs)}`,
    );
  }
  return ms;
}
