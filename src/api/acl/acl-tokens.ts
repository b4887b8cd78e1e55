/**
 * ACL tokens: `/v1/acl/token`, `/v1/acl/tokens` (Consul 1.4+ ACL system).
 *
 * @packageDocumentation
 */
import { optionKeys } from '../../options-check.js';
import { formatDuration, toMilliseconds, type Duration } from '../../duration.js';
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import {
  CALL_OPTION_KEYS,
  READ_OPTION_KEYS,
  type CallOptions,
  type ReadOptions,
} from '../../transport/types.js';
import { read, readAs, type ConsulRead } from '../read.js';
import { localOnly, requireName, segment } from '../validate.js';

/** A reference to a policy or role: by `ID`, by `Name`, or both (Consul fills in the other). */
export interface ACLLink {
  /** Policy or role ID. */
  ID?: string;
  /** Policy or role name. */
  Name?: string;
}

/** A service identity: grants what a service named `ServiceName` needs (Consul 1.5+). */
export interface ACLServiceIdentity {
  /** Service name. */
  ServiceName: string;
  /** Limit to these datacenters; all when absent. */
  Datacenters?: string[];
}

/** A node identity: grants what a node named `NodeName` needs (Consul 1.8.1+). */
export interface ACLNodeIdentity {
  /** Node name. */
  NodeName: string;
  /** The node's datacenter. */
  Datacenter: string;
}

/** An ACL token as Consul returns it. */
export interface ACLToken {
  /** Public identifier of the token (UUID); safe to log. */
  AccessorID: string;
  /** The secret sent as `X-Consul-Token`. */
  SecretID: string;
  /** Free-form description. */
  Description: string;
  /** Policies linked to the token. */
  Policies?: ACLLink[] | null;
  /** Roles linked to the token. */
  Roles?: ACLLink[] | null;
  /** Service identities. */
  ServiceIdentities?: ACLServiceIdentity[] | null;
  /** Node identities (Consul 1.8.1+). */
  NodeIdentities?: ACLNodeIdentity[] | null;
  /** Valid only in this datacenter (not replicated). */
  Local: boolean;
  /** Auth method that created the token by login, if any. */
  AuthMethod?: string;
  /** When the token expires (RFC 3339), if it does. */
  ExpirationTime?: string;
  /** When the token was created (RFC 3339). */
  CreateTime: string;
  /** Hash of the token's content (base64). */
  Hash: string;
  /** A token of the legacy ACL system (pre-1.4) that has not been upgraded. */
  Legacy?: boolean;
  /** Rules of a legacy token. */
  Rules?: string;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** A token as listed by `GET /v1/acl/tokens`: the secret is omitted by Consul 1.8. */
export type ACLTokenListEntry = Omit<ACLToken, 'SecretID'> & {
  /** The secret; absent in lists from Consul before 1.9. */
  SecretID?: string;
};

/** Body of a token create or update. Durations accept `'1h'` or milliseconds. */
export interface ACLTokenRequest {
  /** Choose the accessor ID (UUID) instead of letting Consul generate one; create only. */
  AccessorID?: string;
  /** Choose the secret ID (UUID) instead of letting Consul generate one; create only. */
  SecretID?: string;
  /** Free-form description. */
  Description?: string;
  /** Policies to link. */
  Policies?: ACLLink[];
  /** Roles to link. */
  Roles?: ACLLink[];
  /** Service identities. */
  ServiceIdentities?: ACLServiceIdentity[];
  /** Node identities (Consul 1.8.1+). */
  NodeIdentities?: ACLNodeIdentity[];
  /** Valid only in this datacenter; cannot change after creation. Default `false`. */
  Local?: boolean;
  /** Absolute expiry (`Date` or RFC 3339 text); create only, exclusive with `ExpirationTTL`. */
  ExpirationTime?: Date | string;
  /**
   * Lifetime from now; create only, exclusive with `ExpirationTime`. Consul's bounds default
   * to 1 minute and 24 hours.
   */
  ExpirationTTL?: Duration;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
}

/** Options of {@link ACLTokens.list}. */
export interface ACLTokenListOptions extends ReadOptions {
  /** Only tokens linked to this policy ID. */
  policy?: string;
  /** Only tokens linked to this role ID. */
  role?: string;
  /** Only tokens created by this auth method. */
  authMethod?: string;
}

/** Options of {@link ACLTokens.clone}. */
export interface ACLTokenCloneOptions extends CallOptions {
  /** Description of the copy. Default: the original's. */
  Description?: string;
}

/** Checks links to policies or roles: each needs an ID or a Name. */
export function validateLinks(field: string, links: unknown): void {
  if (links === undefined) return;
  if (!Array.isArray(links)) throw new ValidationError(field, 'must be an array of { ID } or { Name }');
  links.forEach((link: unknown, i) => {
    const entry = link as ACLLink | null;
    if (typeof entry !== 'object' || entry === null || (!entry.ID && !entry.Name)) {
      throw new ValidationError(`${field}[${i}]`, 'needs an ID or a Name');
    }
  });
}

function tokenBody(request: ACLTokenRequest, forUpdate: boolean): Record<string, unknown> {
  if (request === null || typeof request !== 'object')
    throw new ValidationError('token', 'must be an object');
  validateLinks('Policies', request.Policies);
  validateLinks('Roles', request.Roles);
  for (const [i, identity] of (request.ServiceIdentities ?? []).entries()) {
    if (!identity?.ServiceName)
      throw new ValidationError(`ServiceIdentities[${i}].ServiceName`, 'is required');
  }
  for (const [i, identity] of (request.NodeIdentities ?? []).entries()) {
    if (!identity?.NodeName) throw new ValidationError(`NodeIdentities[${i}].NodeName`, 'is required');
    if (!identity.Datacenter) throw new ValidationError(`NodeIdentities[${i}].Datacenter`, 'is required');
  }
  if (request.ExpirationTime !== undefined && request.ExpirationTTL !== undefined) {
    throw new ValidationError('ExpirationTTL', 'cannot be combined with ExpirationTime');
  }
  const body: Record<string, unknown> = { ...request };
  if (request.ExpirationTTL !== undefined) {
    if (forUpdate) throw new ValidationError('ExpirationTTL', 'can only be set when the token is created');
    const ms = toMilliseconds(request.ExpirationTTL, 'ExpirationTTL');
    if (ms <= 0) throw new ValidationError('ExpirationTTL', 'must be greater than zero');
    body['ExpirationTTL'] = formatDuration(ms);
  }
  if (request.ExpirationTime instanceof Date) {
    if (Number.isNaN(request.ExpirationTime.getTime()))
      throw new ValidationError('ExpirationTime', 'is not a valid date');
    body['ExpirationTime'] = request.ExpirationTime.toISOString();
  }
  return body;
}

/** Every key of {@link ACLTokenListOptions}, for the refusal of a misspelt one. */
const ACL_TOKEN_LIST_OPTION_KEYS = optionKeys<ReadOptions & ACLTokenListOptions>()([
  ...READ_OPTION_KEYS,
  'policy',
  'role',
  'authMethod',
]);

/** Every key of {@link ACLTokenCloneOptions}, for the refusal of a misspelt one. */
const ACL_TOKEN_CLONE_OPTION_KEYS = optionKeys<CallOptions & ACLTokenCloneOptions>()([
  ...CALL_OPTION_KEYS,
  'Description',
]);

/** The token part of the `acl` endpoint group: `consul.acl.token`. */
export class ACLTokens {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Creates a token. Needs `acl = "write"`.
   *
   * @example
   * ```ts
   * const token = await consul.acl.token.create({ Description: 'ci', Policies: [{ Name: 'deploy' }], ExpirationTTL: '1h' });
   * ```
   * @throws ValidationError for a link without ID or Name, or both expiration fields
   * @throws PermissionDeniedError without `acl = "write"`
   */
  async create(request: ACLTokenRequest, options: CallOptions = {}): Promise<ACLToken> {
    const response = await this.#transport.request<ACLToken>({
      method: 'PUT',
      path: '/v1/acl/token',
      body: { json: tokenBody(request, false) },
      call: localOnly(options, 'ACL writes'),
      response: 'json',
    });
    return response.body;
  }

  /**
   * Reads a token by accessor ID. Consul (1.8 and later 1.x) answers a missing token with
   * 403 "ACL not found", the same answer as for an unknown caller token, so both reject with
   * `PermissionDeniedError`.
   */
  read(accessorId: string, options: ReadOptions = {}): ConsulRead<ACLToken> {
    return readAs<ACLToken>(this.#transport, {
      method: 'GET',
      path: `/v1/acl/token/${segment('accessorId', accessorId)}`,
      read: options,
      response: 'json',
    });
  }

  /** Reads the token the request is made with (`options.token`, else the client's). */
  self(options: ReadOptions = {}): ConsulRead<ACLToken> {
    return readAs<ACLToken>(this.#transport, {
      method: 'GET',
      path: '/v1/acl/token/self',
      read: options,
      response: 'json',
    });
  }

  /**
   * Replaces a token's description, policies, roles and identities (fields left out are
   * cleared, as in Consul). `Local`, `AccessorID`, `SecretID` and the expiry cannot change.
   */
  async update(accessorId: string, request: ACLTokenRequest, options: CallOptions = {}): Promise<ACLToken> {
    const id = segment('accessorId', accessorId);
    const body = tokenBody(request, true);
    if (request.AccessorID !== undefined && request.AccessorID !== accessorId) {
      throw new ValidationError('AccessorID', 'differs from the accessor ID being updated');
    }
    body['AccessorID'] = accessorId;
    const response = await this.#transport.request<ACLToken>({
      method: 'PUT',
      path: `/v1/acl/token/${id}`,
      body: { json: body },
      call: localOnly(options, 'ACL writes'),
      // The same full replacement applied twice leaves the same token.
      idempotent: true,
      response: 'json',
    });
    return response.body;
  }

  /** Copies a token (same links and expiry, new accessor and secret). */
  async clone(accessorId: string, options: ACLTokenCloneOptions = {}): Promise<ACLToken> {
    const { Description, ...call } = options;
    const response = await this.#transport.request<ACLToken>({
      method: 'PUT',
      path: `/v1/acl/token/${segment('accessorId', accessorId)}/clone`,
      body: { json: Description === undefined ? {} : { Description } },
      call: localOnly(call, 'ACL writes'),
      optionKeys: ACL_TOKEN_CLONE_OPTION_KEYS,
      response: 'json',
    });
    return response.body;
  }

  /** Deletes a token. Resolves `true`, also when the token did not exist. */
  async delete(accessorId: string, options: CallOptions = {}): Promise<boolean> {
    const response = await this.#transport.request<boolean>({
      method: 'DELETE',
      path: `/v1/acl/token/${segment('accessorId', accessorId)}`,
      call: localOnly(options, 'ACL writes'),
      idempotent: true,
      response: 'json',
    });
    return response.body === true;
  }

  /** Lists tokens, optionally only those linked to a policy or role, or made by an auth method. */
  list(options: ACLTokenListOptions = {}): ConsulRead<ACLTokenListEntry[]> {
    const { policy, role, authMethod, ...rest } = options;
    const query = {
      policy: policy === undefined ? undefined : requireName('policy', policy),
      role: role === undefined ? undefined : requireName('role', role),
      authmethod: authMethod === undefined ? undefined : requireName('authMethod', authMethod),
    };
    return read<ACLTokenListEntry[] | null, ACLTokenListEntry[]>(
      this.#transport,
      {
        method: 'GET',
        path: '/v1/acl/tokens',
        query,
        read: rest,
        optionKeys: ACL_TOKEN_LIST_OPTION_KEYS,
        response: 'json',
      },
      (body) => body ?? [],
    );
  }
}
