/**
 * Response metadata of a Consul read, from its `X-Consul-*` headers.
 *
 * @packageDocumentation
 */

/** What Consul says about the answer to a read. */
export interface QueryMeta {
  /** `X-Consul-Index`: the raft index of the answer; pass it back as `index` to block for a change. */
  index?: bigint;
  /** `X-Consul-KnownLeader`: whether the answering server knew a leader. */
  knownLeader?: boolean;
  /** `X-Consul-LastContact`: milliseconds since the answering server last heard from the leader (stale reads). */
  lastContact?: number;
  /** `X-Consul-Effective-Consistency`: the consistency mode Consul actually applied (`leader`, `stale`, `consistent`). */
  effectiveConsistency?: string;
  /** `X-Cache`: whether the agent's cache answered (`?cached` reads). */
  cacheHit?: boolean;
  /** `Age`: seconds since the cached answer was fetched (`?cached` reads). */
  cacheAgeSeconds?: number;
  /** `X-Consul-ContentHash`: hash of the answer, from endpoints with hash-based blocking; pass it back as `hash`. */
  contentHash?: string;
}

/** Response headers as undici gives them (lower-case names). */
export type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads {@link QueryMeta} from response headers (lower-case names, as undici gives them). */
export function parseQueryMeta(headers: HeaderBag): QueryMeta {
  const meta: QueryMeta = {};
  const index = header(headers, 'x-consul-index');
  if (index !== undefined && /^\d+$/.test(index)) meta.index = BigInt(index);
  const knownLeader = header(headers, 'x-consul-knownleader');
  if (knownLeader !== undefined) meta.knownLeader = knownLeader === 'true';
  const lastContact = header(headers, 'x-consul-lastcontact');
  if (lastContact !== undefined && lastContact !== '') meta.lastContact = Number(lastContact);
  const consistency = header(headers, 'x-consul-effective-consistency');
  if (consistency !== undefined) meta.effectiveConsistency = consistency;
  const cache = header(headers, 'x-cache');
  if (cache !== undefined) meta.cacheHit = cache.toUpperCase() === 'HIT';
  const age = header(headers, 'age');
  if (age !== undefined && age !== '') meta.cacheAgeSeconds = Number(age);
  const contentHash = header(headers, 'x-consul-contenthash');
  if (contentHash !== undefined && contentHash !== '') meta.contentHash = contentHash;
  return meta;
}
