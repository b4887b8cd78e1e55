/**
 * The legacy ACL API (`/v1/acl/create|update|destroy|info|clone|list`) of Consul before 1.4,
 * which Consul keeps answering up to 1.10 (removed in 1.11). Python-consul's
 * `consul.acl.create/update/destroy/info/clone/list` map here one to one. New code should
 * use tokens and policies (`consul.acl.token`, `consul.acl.policy`).
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import type { CallOptions, ReadOptions } from '../../transport/types.js';
import { read, type ConsulRead } from '../read.js';
import { localOnly, requireName, segment } from '../validate.js';

/** Type of a legacy ACL token. */
export type LegacyAclType = 'client' | 'management';

/** A legacy ACL token. Its `ID` is the secret sent as `X-Consul-Token`. */
export interface LegacyAcl {
  /** The token (secret). */
  ID: string;
  /** Human-readable name. */
  Name: string;
  /** `client` (rules apply) or `management` (everything allowed). */
  Type: LegacyAclType;
  /** Rules in HCL or JSON (legacy syntax, e.g. `key "app/" { policy = "read" }`). */
  Rules: string;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** Body of {@link ACLLegacy.create}. */
export interface LegacyAclCreateRequest {
  /** Choose the token instead of letting Consul generate one. */
  ID?: string;
  /** Human-readable name. */
  Name?: string;
  /** Default `client`. */
  Type?: LegacyAclType;
  /** Rules in HCL or JSON. */
  Rules?: string;
}

/** Body of {@link ACLLegacy.update}: the whole token, identified by `ID`. */
export interface LegacyAclUpdateRequest extends LegacyAclCreateRequest {
  /** The token to update. */
  ID: string;
}

function legacyBody(request: LegacyAclCreateRequest): Record<string, unknown> {
  if (request === null || typeof request !== 'object') throw new ValidationError('acl', 'must be an object');
  if (request.Type !== undefined && request.Type !== 'client' && request.Type !== 'management') {
    throw new ValidationError('Type', `'${String(request.Type)}' is not client or management`);
  }
  if (request.Rules !== undefined && typeof request.Rules !== 'string') {
    throw new ValidationError('Rules', 'must be a string of HCL or JSON rules');
  }
  return { ...request };
}

/** The legacy part of the `acl` endpoint group: `consul.acl.legacy`. */
export class ACLLegacy {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** Creates a legacy token and resolves to its ID (the secret). Needs a management token. */
  async create(request: LegacyAclCreateRequest = {}, options: CallOptions = {}): Promise<string> {
    const response = await this.#transport.request<{ ID: string }>({
      method: 'PUT',
      path: '/v1/acl/create',
      body: { json: legacyBody(request) },
      call: localOnly(options, 'ACL writes'),
      response: 'json',
    });
    return response.body.ID;
  }

  /**
   * Replaces a legacy token's name, type and rules; resolves to its ID. Consul's leader
   * upgrades legacy tokens to the token/policy system in the background, after which this
   * endpoint refuses them (500 "Cannot use legacy endpoint to modify a non-legacy token"):
   * update new tokens through `acl.token.update`.
   */
  async update(request: LegacyAclUpdateRequest, options: CallOptions = {}): Promise<string> {
    const body = legacyBody(request);
    requireName('ID', request.ID);
    const response = await this.#transport.request<{ ID: string }>({
      method: 'PUT',
      path: '/v1/acl/update',
      body: { json: body },
      call: localOnly(options, 'ACL writes'),
      idempotent: true,
      response: 'json',
    });
    return response.body.ID;
  }

  /** Destroys a legacy token. Resolves `true`, also when it did not exist. */
  async destroy(id: string, options: CallOptions = {}): Promise<boolean> {
    const response = await this.#transport.request<boolean>({
      method: 'PUT',
      path: `/v1/acl/destroy/${segment('id', id)}`,
      call: localOnly(options, 'ACL writes'),
      idempotent: true,
      response: 'json',
    });
    return response.body === true;
  }

  /** Reads a legacy token; `undefined` when it does not exist. */
  info(id: string, options: ReadOptions = {}): ConsulRead<LegacyAcl | undefined> {
    return read<LegacyAcl[] | null, LegacyAcl | undefined>(
      this.#transport,
      { method: 'GET', path: `/v1/acl/info/${segment('id', id)}`, read: options, response: 'json' },
      (body) => body?.[0] ?? undefined,
    );
  }

  /**
   * Copies a legacy token and resolves to the new ID. Consul answers a missing source token
   * with 403, so that rejects with `PermissionDeniedError`.
   */
  async clone(id: string, options: CallOptions = {}): Promise<string> {
    const response = await this.#transport.request<{ ID: string }>({
      method: 'PUT',
      path: `/v1/acl/clone/${segment('id', id)}`,
      call: localOnly(options, 'ACL writes'),
      response: 'json',
    });
    return response.body.ID;
  }

  /** Lists every token in the legacy form (tokens of the new system included). */
  list(options: ReadOptions = {}): ConsulRead<LegacyAcl[]> {
    return read<LegacyAcl[] | null, LegacyAcl[]>(
      this.#transport,
      { method: 'GET', path: '/v1/acl/list', read: options, response: 'json' },
      (body) => body ?? [],
    );
  }
}
