/**
 * The strategies that choose an instance. Pure: unit-tested with fixed inputs and a seeded
 * random source.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../errors.js';

/**
 * How the balancer chooses an instance:
 * - `'p2c'` (default): power of two choices. Two distinct instances are drawn at random and
 *   the one with fewer requests outstanding (sent by `lb.request()` and not yet answered)
 *   wins; ties go to the first drawn. Spreads load like least-outstanding without its herd
 *   effect (Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing").
 * - `'round-robin'`: each instance in turn, in a stable order (node, then service ID).
 * - `'random'`: uniformly at random.
 * - `'weighted'`: at random in proportion to Consul's `Weights` (`Passing` for a passing
 *   instance, `Warning` for a warning one), as Consul's DNS interface does for SRV answers.
 *   An instance of weight 0 is never chosen.
 */
export type BalancerStrategyName = 'round-robin' | 'random' | 'p2c' | 'weighted';

/** Every strategy name, for validation. */
export const BALANCER_STRATEGIES: readonly BalancerStrategyName[] = Object.freeze([
  'p2c',
  'round-robin',
  'random',
  'weighted',
]);

/** What a strategy needs to know about an instance. */
export interface StrategyCandidate {
  /** Identity of the instance, unique in the datacenter (node and service ID). */
  readonly key: string;
  /** Weight for `'weighted'`: a non-negative integer. */
  readonly weight: number;
}

/** What a strategy may consult while picking. */
export interface PickContext {
  /** Requests outstanding on an instance, by key. */
  outstanding(key: string): number;
  /** Random number in `[0, 1)`. */
  random(): number;
  /**
   * Keys that must not be picked: the instances a call already tried. A pick with exclusions
   * is a retry, which round-robin serves without moving its rotation.
   */
  exclude?: ReadonlySet<string>;
}

/**
 * A strategy: picks one of the instances in rotation (all of them, in a stable order), or
 * `undefined` when none may be picked.
 */
export interface BalancerStrategy {
  readonly name: BalancerStrategyName;
  pick<C extends StrategyCandidate>(candidates: readonly C[], context: PickContext): C | undefined;
}

function allowed<C extends StrategyCandidate>(
  candidates: readonly C[],
  exclude: ReadonlySet<string> | undefined,
): readonly C[] {
  return exclude === undefined || exclude.size === 0
    ? candidates
    : candidates.filter((candidate) => !exclude.has(candidate.key));
}

function randomIndex(length: number, random: () => number): number {
  // Guards against a random source that returns 1 (or more), which `[0, 1)` excludes.
  return Math.min(Math.floor(random() * length), length - 1);
}

function roundRobin(): BalancerStrategy {
  let next = 0;
  return {
    name: 'round-robin',
    pick(candidates, { exclude }) {
      if (candidates.length === 0) return undefined;
      // The counter runs over whatever list is current: when instances come and go the cycle
      // continues from its position instead of restarting at the first instance.
      const start = next % candidates.length;
      if (exclude === undefined || exclude.size === 0) {
        next = (next + 1) % Number.MAX_SAFE_INTEGER;
        return candidates[start];
      }
      // A retry takes the next instance not tried yet, without moving the rotation: the
      // instance after a failed one would have been next anyway, and other calls keep their
      // turns.
      for (let step = 0; step < candidates.length; step += 1) {
        const candidate = candidates[(start + step) % candidates.length];
        if (candidate !== undefined && !exclude.has(candidate.key)) return candidate;
      }
      return undefined;
    },
  };
}

function uniform(): BalancerStrategy {
  return {
    name: 'random',
    pick(all, { random, exclude }) {
      const candidates = allowed(all, exclude);
      return candidates.length === 0 ? undefined : candidates[randomIndex(candidates.length, random)];
    },
  };
}

function powerOfTwoChoices(): BalancerStrategy {
  return {
    name: 'p2c',
    pick(all, { random, outstanding, exclude }) {
      const candidates = allowed(all, exclude);
      if (candidates.length <= 1) return candidates[0];
      const i = randomIndex(candidates.length, random);
      let j = randomIndex(candidates.length - 1, random);
      if (j >= i) j += 1;
      const first = candidates[i];
      const second = candidates[j];
      if (first === undefined || second === undefined) return first ?? second;
      return outstanding(second.key) < outstanding(first.key) ? second : first;
    },
  };
}

function weighted(): BalancerStrategy {
  return {
    name: 'weighted',
    pick(all, { random, exclude }) {
      const candidates = allowed(all, exclude);
      let total = 0;
      for (const candidate of candidates) total += Math.max(candidate.weight, 0);
      if (total <= 0) return undefined;
      let point = random() * total;
      let last: (typeof candidates)[number] | undefined;
      for (const candidate of candidates) {
        if (candidate.weight <= 0) continue;
        last = candidate;
        point -= candidate.weight;
        if (point < 0) return candidate;
      }
      // Only reached through floating-point rounding at the very top of the range.
      return last;
    },
  };
}

/**
 * A fresh strategy (round-robin keeps a position, so each balancer needs its own).
 *
 * @throws ValidationError for an unknown name
 */
export function createStrategy(name: unknown = 'p2c'): BalancerStrategy {
  switch (name) {
    case 'p2c':
      return powerOfTwoChoices();
    case 'round-robin':
      return roundRobin();
    case 'random':
      return uniform();
    case 'weighted':
      return weighted();
    default:
      throw new ValidationError(
        'strategy',
        `must be one of ${BALANCER_STRATEGIES.join(', ')}, not ${String(name)}`,
      );
  }
}
