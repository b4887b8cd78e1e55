/**
 * A seeded PRNG (mulberry32) so a nemesis run is replayable from its seed: the same seed
 * gives the same fault schedule and hold durations (timing still varies with the machine).
 */

/** Random numbers from one seed. */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer uniform in [min, max]. */
  between(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** An independent stream derived from this one (one per contender). */
  fork(): Prng;
}

/** mulberry32 over a 32-bit seed. */
export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const prng: Prng = {
    next,
    between: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
    fork: () => createPrng(Math.floor(next() * 4294967296)),
  };
  return prng;
}
