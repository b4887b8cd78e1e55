/**
 * The pure half of the balancer: turning Consul's health entries into instances, telling
 * what changed between two lists, and the strategies that choose an instance. Nothing here
 * does I/O, so all of it is unit-tested with fixed inputs and a seeded random source.
 *
 * @packageDocumentation
 */
import type { ServiceEntry } from '../../api/health.js';
import type { HealthCheck } from '../../api/health-types.js';
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

/** The health of an instance as the balancer sees it: the worst of its checks. */
export type InstanceStatus = 'passing' | 'warning' | 'critical';

/**
 * The worst status among checks (node checks included), as Consul's own `AggregatedStatus`
 * computes it: any critical check (maintenance mode is one) makes the instance critical,
 * otherwise any warning one makes it warning. No checks at all is passing.
 */
export function aggregateStatus(checks: readonly Pick<HealthCheck, 'Status'>[] | null): InstanceStatus {
  let status: InstanceStatus = 'passing';
  for (const check of checks ?? []) {
    if (check.Status === 'critical') return 'critical';
    if (check.Status === 'warning') status = 'warning';
    else if (check.Status !== 'passing') return 'critical';
  }
  return status;
}

/** One instance of a service, as the balancer hands it out. Read-only. */
export interface BalancerInstance {
  /** Service instance ID (unique on its node). */
  readonly id: string;
  /** Name of the node it runs on. */
  readonly node: string;
  /** Address to send to: the service address, or the node's address when the service has none. */
  readonly address: string;
  /** Port (0 when the registration gave none). */
  readonly port: number;
  /** Tags of the instance. */
  readonly tags: readonly string[];
  /** Service metadata. */
  readonly meta: Readonly<Record<string, string>>;
  /** Worst status of its checks: `passing`, or `warning` when the balancer uses warning instances. */
  readonly status: 'passing' | 'warning';
  /** Weight `'weighted'` uses: Consul's `Weights.Passing` or `Weights.Warning`, by status. */
  readonly weight: number;
}

/** An instance with its identity, the unit the balancer and the strategies work on. */
export interface BalancerMember extends StrategyCandidate {
  readonly instance: BalancerInstance;
}

/** The identity of an instance: service IDs are unique per node only. */
export function memberKey(node: string, id: string): string {
  return `${node}\u0000${id}`;
}

function weightOf(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * The usable instances of a health listing, ordered by node then service ID. Critical
 * instances are always left out; warning ones unless `includeWarning`.
 */
export function toMembers(entries: readonly ServiceEntry[], includeWarning: boolean): BalancerMember[] {
  const members: BalancerMember[] = [];
  for (const entry of entries) {
    const status = aggregateStatus(entry.Checks);
    if (status === 'critical' || (status === 'warning' && !includeWarning)) continue;
    const service = entry.Service;
    // Consul fills in Weights {Passing: 1, Warning: 1} when a registration gives none; the
    // fallbacks only matter for entries written by something else.
    const weights = service.Weights as { Passing?: number; Warning?: number } | null | undefined;
    const weight = status === 'passing' ? weightOf(weights?.Passing ?? 1) : weightOf(weights?.Warning ?? 1);
    const instance: BalancerInstance = Object.freeze({
      id: service.ID,
      node: entry.Node.Node,
      address: service.Address !== '' ? service.Address : entry.Node.Address,
      port: service.Port,
      tags: Object.freeze([...(service.Tags ?? [])]),
      meta: Object.freeze({ ...service.Meta }),
      status,
      weight,
    });
    members.push({ key: memberKey(instance.node, instance.id), weight, instance });
  }
  return members.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** What changed between two lists of members. */
export interface MemberDiff {
  readonly added: BalancerInstance[];
  readonly removed: BalancerInstance[];
  /** Same instance, different address, port, tags, meta, status or weight. */
  readonly updated: BalancerInstance[];
}

function sameInstance(a: BalancerInstance, b: BalancerInstance): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The instances added, removed and updated from `before` to `after`. */
export function diffMembers(before: readonly BalancerMember[], after: readonly BalancerMember[]): MemberDiff {
  const previous = new Map(before.map((member) => [member.key, member.instance]));
  const added: BalancerInstance[] = [];
  const updated: BalancerInstance[] = [];
  for (const member of after) {
    const old = previous.get(member.key);
    if (old === undefined) added.push(member.instance);
    else if (!sameInstance(old, member.instance)) updated.push(member.instance);
    previous.delete(member.key);
  }
  return { added, removed: [...previous.values()], updated };
}
