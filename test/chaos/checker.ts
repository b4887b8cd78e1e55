/**
 * The safety checker of the nemesis test: pure functions over a recorded history.
 *
 * Holds are half-open intervals [start, end): a holder that gave up at t and another that
 * acquired at t did not overlap. Open holds are closed at the run's end.
 */
import type { Hold, PrimitiveKind } from './history.js';

/** A moment where more holders than allowed held at once. */
export interface Overlap {
  primitive: PrimitiveKind;
  at: number;
  holders: Hold[];
}

/** Successive lock holds whose fencing tokens did not increase. */
export interface FencingViolation {
  previous: Hold;
  next: Hold;
}

/** Figures for one primitive. */
export interface PrimitiveFigures {
  holds: number;
  /** Time with ≥ 1 holder / total time, in [0, 1]. */
  availability: number;
  maxConcurrent: number;
}

/** The checker's verdict. */
export interface CheckResult {
  perPrimitive: Record<PrimitiveKind, PrimitiveFigures>;
  overlaps: Overlap[];
  fencingViolations: FencingViolation[];
}

/** How many may hold each primitive at once. */
export const LIMITS: Readonly<Record<PrimitiveKind, number>> = { lock: 1, semaphore: 2, election: 1 };

/** A hold's end, with open holds closed at `runEnd`. */
const endOf = (hold: Hold, runEnd: number): number => hold.end ?? runEnd;

/**
 * Sweeps the holds of one primitive in time order and returns every moment at which more
 * than `limit` were held, with the holders at that moment. Ends sort before starts at the
 * same instant (half-open intervals).
 */
export function findOverlaps(holds: readonly Hold[], limit: number, runEnd: number): Overlap[] {
  const events: { at: number; kind: 0 | 1; hold: Hold }[] = [];
  for (const hold of holds) {
    const end = endOf(hold, runEnd);
    if (end <= hold.start) continue; // an empty interval holds nothing
    events.push({ at: hold.start, kind: 1, hold }, { at: end, kind: 0, hold });
  }
  events.sort((a, b) => a.at - b.at || a.kind - b.kind);
  const current = new Set<Hold>();
  const overlaps: Overlap[] = [];
  for (const event of events) {
    if (event.kind === 0) {
      current.delete(event.hold);
      continue;
    }
    current.add(event.hold);
    if (current.size > limit) {
      overlaps.push({ primitive: event.hold.primitive, at: event.at, holders: [...current] });
    }
  }
  return overlaps;
}

/** The largest number of simultaneous holders. */
export function maxConcurrent(holds: readonly Hold[], runEnd: number): number {
  const events: [number, number][] = [];
  for (const hold of holds) {
    const end = endOf(hold, runEnd);
    if (end > hold.start) events.push([hold.start, 1], [end, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, delta] of events) {
    now += delta;
    max = Math.max(max, now);
  }
  return max;
}

/** Length of the union of the holds' intervals within [runStart, runEnd], over its length. */
export function availability(holds: readonly Hold[], runStart: number, runEnd: number): number {
  const total = runEnd - runStart;
  if (total <= 0) return 0;
  const intervals = holds
    .map((hold) => [Math.max(hold.start, runStart), Math.min(endOf(hold, runEnd), runEnd)] as const)
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let currentStart = -Infinity;
  let currentEnd = -Infinity;
  for (const [start, end] of intervals) {
    if (start > currentEnd) {
      if (currentEnd > currentStart) covered += currentEnd - currentStart;
      currentStart = start;
      currentEnd = end;
    } else {
      currentEnd = Math.max(currentEnd, end);
    }
  }
  if (currentEnd > currentStart) covered += currentEnd - currentStart;
  return covered / total;
}

/**
 * Successive holds of a limit-1 primitive, in order of acquisition, must carry strictly
 * increasing fencing tokens (a hold without a token is a violation too).
 */
export function findFencingViolations(holds: readonly Hold[]): FencingViolation[] {
  const ordered = [...holds].sort((a, b) => a.start - b.start);
  const violations: FencingViolation[] = [];
  for (let i = 1; i < ordered.length; i++) {
    const previous = ordered[i - 1]!;
    const next = ordered[i]!;
    if (previous.token === undefined || next.token === undefined || next.token <= previous.token) {
      violations.push({ previous, next });
    }
  }
  return violations;
}

/** Checks a whole run. */
export function checkHistory(holds: readonly Hold[], runStart: number, runEnd: number): CheckResult {
  const kinds: PrimitiveKind[] = ['lock', 'semaphore', 'election'];
  const perPrimitive = {} as Record<PrimitiveKind, PrimitiveFigures>;
  const overlaps: Overlap[] = [];
  for (const kind of kinds) {
    const mine = holds.filter((hold) => hold.primitive === kind);
    perPrimitive[kind] = {
      holds: mine.length,
      availability: availability(mine, runStart, runEnd),
      maxConcurrent: maxConcurrent(mine, runEnd),
    };
    overlaps.push(...findOverlaps(mine, LIMITS[kind], runEnd));
  }
  return {
    perPrimitive,
    overlaps,
    fencingViolations: [
      ...findFencingViolations(holds.filter((hold) => hold.primitive === 'lock')),
      ...findFencingViolations(holds.filter((hold) => hold.primitive === 'election')),
    ],
  };
}
