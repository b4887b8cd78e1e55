/**
 * Sessions: `/v1/session`. A session ties KV locks to a TTL and/or health checks.
 *
 * @packageDocumentation
 */
import { boundedDuration, formatDuration, type Duration } from '../duration.js';
import { ValidationError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import type { CallOptions, ReadOptions } from '../transport/types.js';
import { read, type ConsulRead } from './read.js';
import { segment } from './validate.js';

/** Consul's bounds on a session TTL. */
export const SESSION_TTL_MIN_MS = 10_000;
/** Consul's bounds on a session TTL. */
export const SESSION_TTL_MAX_MS = 86_400_000;
/** Consul's upper bound on lock-delay. */
export const LOCK_DELAY_MAX_MS = 60_000;

/** What happens to the locks of a session when it is invalidated. */
export type SessionBehavior = 'release' | 'delete';

/** A service check a session is bound to (Consul 1.7+). */
export interface SessionServiceCheck {
  /** Check ID. */
  ID: string;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
}

/** Body of `PUT /v1/session/create`. Durations accept `'15s'` or milliseconds. */
export interface SessionCreateRequest {
  /** Human-readable name. */
  Name?: string;
  /** Node the session belongs to. Default: the agent's node. */
  Node?: string;
  /**
   * Legacy list of health checks (IDs) that invalidate the session when critical. Beware: a
   * non-empty list does not replace the default `serfHealth` on Consul 1.8 (it is added to
   * `NodeChecks`); only `[]` means "no checks". Prefer `NodeChecks`/`ServiceChecks`.
   */
  Checks?: string[];
  /**
   * Node check IDs (Consul 1.7+) that invalidate the session when critical; sent, it replaces
   * the default `['serfHealth']` exactly (`[]`: none). Consul 1.8.7 also accepts a service
   * check's ID here.
   */
  NodeChecks?: string[];
  /** Service checks (Consul 1.7+) that invalidate the session when critical. */
  ServiceChecks?: SessionServiceCheck[];
  /** `release` (default) or `delete` the held keys on invalidation. */
  Behavior?: SessionBehavior;
  /** Time to live, 10 s to 24 h. The session is invalidated at up to 2× TTL without renewal. */
  TTL?: Duration;
  /** How long a released lock stays unobtainable after invalidation, up to 60 s. Consul's default is 15 s. */
  LockDelay?: Duration;
}

/** A session as Consul reports it. */
export interface SessionEntry {
  /** Session ID (UUID). */
  ID: string;
  /** Name given at creation. */
  Name: string;
  /** Node the session is bound to. */
  Node: string;
  /** Check IDs bound to the session. */
  Checks?: string[] | null;
  /** Node checks (Consul 1.7+). */
  NodeChecks?: string[] | null;
  /** Service checks (Consul 1.7+). */
  ServiceChecks?: SessionServiceCheck[] | null;
  /** Lock-delay in nanoseconds. */
  LockDelay: number;
  /** Invalidation behavior. */
  Behavior: SessionBehavior;
  /** TTL as a duration string, `''` when none. */
  TTL: string;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** Validates a create request and converts it to the wire form. */
export function sessionCreateBody(request: SessionCreateRequest): Record<string, unknown> {
  if (request === null || typeof request !== 'object')
    throw new ValidationError('session', 'must be an object');
  const body: Record<string, unknown> = { ...request };
  if (request.TTL !== undefined) {
    body.TTL = formatDuration(boundedDuration(request.TTL, 'TTL', SESSION_TTL_MIN_MS, SESSION_TTL_MAX_MS));
  }
  if (request.LockDelay !== undefined) {
    body.LockDelay = formatDuration(boundedDuration(request.LockDelay, 'LockDelay', 0, LOCK_DELAY_MAX_MS));
  }
  if (request.Behavior !== undefined && request.Behavior !== 'release' && request.Behavior !== 'delete') {
    throw new ValidationError('Behavior', `'${String(request.Behavior)}' is not release or delete`);
  }
  return body;
}

/** The `session` endpoint group. */
export class Session {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Creates a session and resolves to its ID.
   *
   * @throws ValidationError for a TTL outside 10s–24h, a lock-delay above 60s, an unknown behavior
   */
  async create(request: SessionCreateRequest = {}, options: CallOptions = {}): Promise<string> {
    const response = await this.#transport.request<{ ID: string }>({
      method: 'PUT',
      path: '/v1/session/create',
      body: { json: sessionCreateBody(request) },
      call: options,
      response: 'json',
    });
    return response.body.ID;
  }

  /** Destroys a session, releasing (or deleting) the keys it holds. Idempotent. */
  async destroy(id: string, options: CallOptions = {}): Promise<boolean> {
    const response = await this.#transport.request<boolean>({
      method: 'PUT',
      path: `/v1/session/destroy/${segment('id', id)}`,
      call: options,
      idempotent: true,
      response: 'json',
    });
    return response.body === true;
  }

  /** Reads one session; `undefined` when it does not exist (or was invalidated). */
  info(id: string, options: ReadOptions = {}): ConsulRead<SessionEntry | undefined> {
    return read<SessionEntry[] | null, SessionEntry | undefined>(
      this.#transport,
      { method: 'GET', path: `/v1/session/info/${segment('id', id)}`, read: options, response: 'json' },
      (body) => body?.[0] ?? undefined,
    );
  }

  /** Lists the sessions of a node. */
  node(node: string, options: ReadOptions = {}): ConsulRead<SessionEntry[]> {
    return read<SessionEntry[] | null, SessionEntry[]>(
      this.#transport,
      { method: 'GET', path: `/v1/session/node/${segment('node', node)}`, read: options, response: 'json' },
      (body) => body ?? [],
    );
  }

  /** Lists every session in the datacenter. */
  list(options: ReadOptions = {}): ConsulRead<SessionEntry[]> {
    return read<SessionEntry[] | null, SessionEntry[]>(
      this.#transport,
      { method: 'GET', path: '/v1/session/list', read: options, response: 'json' },
      (body) => body ?? [],
    );
  }

  /**
   * Renews a TTL session and resolves to its current entry (Consul may answer with a longer
   * TTL than requested, which the caller should then use).
   *
   * @throws NotFoundError when the session no longer exists (expired or destroyed)
   */
  async renew(id: string, options: CallOptions = {}): Promise<SessionEntry> {
    const response = await this.#transport.request<SessionEntry[]>({
      method: 'PUT',
      path: `/v1/session/renew/${segment('id', id)}`,
      call: options,
      idempotent: true,
      response: 'json',
    });
    const entry = response.body[0];
    if (!entry) throw new ValidationError('id', `Consul returned no session for ${id}`);
    return entry;
  }
}
