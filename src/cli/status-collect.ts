/**
 * What `consulkit status` shows, gathered from Consul: who holds which lock, semaphore slots,
 * election leaders, and the registered services with their health. Locks are recognised by
 * the flags Consul's Go api (and `consul lock`) and consulkit put on their keys, so holders
 * from either tool show up.
 *
 * @packageDocumentation
 */
import {
  LOCK_FLAGS,
  SEMAPHORE_FLAGS,
  type Consul,
  type HealthStatus,
  type KVPair,
  type SessionEntry,
} from '../index.js';
import { parseHolderSessionName } from './holder.js';

/** Who holds something: a session and what Consul knows of it. */
export interface Holder {
  /** Session ID. */
  session: string;
  /** Session name (says which tool holds it and, for this CLI, since when). */
  sessionName: string | undefined;
  /** Node the session belongs to. */
  node: string | undefined;
  /** The holder's value (lock key value, or its semaphore contender key value). */
  value: string;
  /** Age of the holder's session in ms, when its name says when it started (holders from this CLI). */
  ageMs: number | undefined;
}

/** A lock key (`consul lock`'s `<prefix>/.lock`, or any consulkit lock). */
export interface LockStatus {
  key: string;
  /** The holder; `undefined` when the key exists but nobody holds it. */
  holder: Holder | undefined;
  /** How many times the key was acquired (Consul's `LockIndex`). */
  lockIndex: bigint;
}

/** A semaphore: its coordination key, limit and holders. */
export interface SemaphoreStatus {
  prefix: string;
  limit: number | undefined;
  holders: Holder[];
  /** Set when the coordination key does not hold valid JSON. */
  problem?: string;
}

/** An election: its key and current leader. */
export interface ElectionStatus {
  key: string;
  leader: Holder | undefined;
}

/** A service and the health of its instances. */
export interface ServiceStatus {
  name: string;
  /** Instances by their worst check. */
  passing: number;
  warning: number;
  critical: number;
  /** Each instance: id, node, address:port and status. */
  instances: { id: string; node: string; address: string; port: number; status: HealthStatus }[];
}

/** Everything `consulkit status` shows. */
export interface StatusReport {
  /** The KV prefix that was looked at (`''` for all). */
  prefix: string;
  locks: LockStatus[];
  semaphores: SemaphoreStatus[];
  elections: ElectionStatus[];
  services: ServiceStatus[];
}

function holderOf(session: string, value: string, sessions: Map<string, SessionEntry>, now: number): Holder {
  const entry = sessions.get(session);
  const since = entry === undefined ? undefined : parseHolderSessionName(entry.Name)?.since;
  return {
    session,
    sessionName: entry?.Name,
    node: entry?.Node,
    value,
    ageMs: since === undefined ? undefined : Math.max(0, now - since.getTime()),
  };
}

function semaphoreOf(
  pair: KVPair,
  pairs: readonly KVPair[],
  sessions: Map<string, SessionEntry>,
  now: number,
): SemaphoreStatus {
  const prefix = pair.Key.replace(/\/\.lock$/, '');
  let parsed: { Limit?: unknown; Holders?: unknown };
  try {
    parsed = JSON.parse(pair.Value.toString('utf8')) as typeof parsed;
  } catch {
    return { prefix, limit: undefined, holders: [], problem: 'coordination key is not JSON' };
  }
  const limit = typeof parsed.Limit === 'number' ? parsed.Limit : undefined;
  const holderIds =
    parsed.Holders !== null && typeof parsed.Holders === 'object' ? Object.keys(parsed.Holders) : [];
  const contenders = new Map(pairs.filter((p) => p.Flags === SEMAPHORE_FLAGS).map((p) => [p.Key, p]));
  // A holder is only real while its contender key still carries its session (Go's pruning rule).
  const holders = holderIds
    .filter((id) => contenders.get(`${prefix}/${id}`)?.Session === id)
    .map((id) =>
      holderOf(id, contenders.get(`${prefix}/${id}`)?.Value.toString('utf8') ?? '', sessions, now),
    );
  return { prefix, limit, holders };
}

/** Instance status from its checks: the worst one (no checks counts as passing, as Consul does). */
function worstStatus(statuses: readonly string[]): HealthStatus {
  if (statuses.includes('critical')) return 'critical';
  if (statuses.includes('warning')) return 'warning';
  return 'passing';
}

async function servicesStatus(consul: Consul): Promise<ServiceStatus[]> {
  const names = Object.keys(await consul.catalog.services()).sort();
  return Promise.all(
    names.map(async (name) => {
      const entries = await consul.health.service(name);
      const instances = entries.map((entry) => ({
        id: entry.Service.ID,
        node: entry.Node.Node,
        address: entry.Service.Address || entry.Node.Address,
        port: entry.Service.Port,
        status: worstStatus(entry.Checks.map((check) => check.Status)),
      }));
      const count = (status: HealthStatus): number => instances.filter((i) => i.status === status).length;
      return {
        name,
        passing: count('passing'),
        warning: count('warning'),
        critical: count('critical'),
        instances,
      };
    }),
  );
}

/**
 * Reads the KV entries under `prefix` (all of them for `''`), the sessions and, unless
 * `services` is false, the service catalog with health, and sorts them into a report.
 */
export async function collectStatus(
  consul: Consul,
  prefix: string,
  options: { services: boolean; now?: number },
): Promise<StatusReport> {
  const now = options.now ?? Date.now();
  const [pairs, sessionList, services] = await Promise.all([
    consul.kv.list(prefix),
    consul.session.list(),
    options.services ? servicesStatus(consul) : Promise.resolve([]),
  ]);
  const sessions = new Map(sessionList.map((session) => [session.ID, session]));
  const locks: LockStatus[] = [];
  const elections: ElectionStatus[] = [];
  const semaphores: SemaphoreStatus[] = [];
  for (const pair of pairs) {
    if (pair.Flags === LOCK_FLAGS) {
      const holder = pair.Session
        ? holderOf(pair.Session, pair.Value.toString('utf8'), sessions, now)
        : undefined;
      // Elections are locks too; their sessions say so (consulkit names them `consulkit election …`).
      const kind =
        holder?.sessionName === undefined ? undefined : parseHolderSessionName(holder.sessionName)?.kind;
      if (kind === 'election') elections.push({ key: pair.Key, leader: holder });
      else locks.push({ key: pair.Key, holder, lockIndex: pair.LockIndex });
    } else if (pair.Flags === SEMAPHORE_FLAGS && pair.Key.endsWith('/.lock')) {
      semaphores.push(semaphoreOf(pair, pairs, sessions, now));
    }
  }
  return { prefix, locks, semaphores, elections, services };
}
