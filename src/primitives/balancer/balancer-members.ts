/**
 * The balancer's view of a service: Consul's health entries turned into the instances in
 * rotation, and what changed between two such lists. Pure: unit-tested with fixed inputs.
 *
 * @packageDocumentation
 */
import type { ServiceEntry } from '../../api/health/health.js';
import type { HealthCheck } from '../../api/health/health-types.js';
import type { StrategyCandidate } from './balancer-strategies.js';

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
