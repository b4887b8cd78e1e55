/**
 * The `acl` endpoint group: tokens, policies and roles of Consul's ACL system (1.4+), the
 * legacy token API, bootstrap and replication status.
 *
 * @packageDocumentation
 */
import { AclBootstrapError, PermissionDeniedError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import type { CallOptions, ReadOptions } from '../../transport/types.js';
import {
  ACLLegacy,
  type LegacyAcl,
  type LegacyAclCreateRequest,
  type LegacyAclUpdateRequest,
} from './acl-legacy.js';
import { ACLAuthMethods, login, logout, type ACLLoginRequest } from './acl-auth-methods.js';
import { ACLBindingRules } from './acl-binding-rules.js';
import { ACLPolicies } from './acl-policies.js';
import { ACLRoles } from './acl-roles.js';
import { ACLTokens, type ACLToken } from './acl-tokens.js';
import { read, type ConsulRead } from '../read.js';

/** ACL replication status of the answering server (`GET /v1/acl/replication`). */
export interface ACLReplicationStatus {
  /** Whether replication is configured (only in secondary datacenters). */
  Enabled: boolean;
  /** Whether the replication routine is running (only on the leader). */
  Running: boolean;
  /** The primary datacenter replicated from. */
  SourceDatacenter: string;
  /** `legacy`, `policies` or `tokens`; `''` when not replicating. */
  ReplicationType: string;
  /** Last Raft index of policies (or legacy tokens) replicated. */
  ReplicatedIndex: bigint;
  /** Last Raft index of roles replicated. */
  ReplicatedRoleIndex: bigint;
  /** Last Raft index of tokens replicated. */
  ReplicatedTokenIndex: bigint;
  /** Time of the last successful replication (RFC 3339; the zero time when never). */
  LastSuccess: string;
  /** Time of the last failed replication (RFC 3339; the zero time when never). */
  LastError: string;
  /** Message of the last failure (Consul 1.10+). */
  LastErrorMessage?: string;
}

/**
 * The `acl` endpoint group.
 *
 * - `consul.acl.token`, `.policy` and `.role`: the ACL system of Consul 1.4+;
 * - `consul.acl.legacy`: the pre-1.4 token API, answered up to Consul 1.10;
 * - `create`, `update`, `destroy`, `info`, `clone` and `list` directly on `consul.acl`: the
 *   same legacy calls under the names python-consul uses, kept for migration.
 */
export class Acl {
  /** Tokens (`/v1/acl/token`). */
  readonly token: ACLTokens;
  /** Policies (`/v1/acl/policy`). */
  readonly policy: ACLPolicies;
  /** Roles (`/v1/acl/role`, Consul 1.5+). */
  readonly role: ACLRoles;
  /** The legacy token API (`/v1/acl/create` ...). */
  readonly legacy: ACLLegacy;
  /** Auth methods (`/v1/acl/auth-method`, Consul 1.5+). */
  readonly authMethod: ACLAuthMethods;
  /** Binding rules (`/v1/acl/binding-rule`, Consul 1.5+). */
  readonly bindingRule: ACLBindingRules;
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
    this.token = new ACLTokens(transport);
    this.policy = new ACLPolicies(transport);
    this.role = new ACLRoles(transport);
    this.legacy = new ACLLegacy(transport);
    this.authMethod = new ACLAuthMethods(transport);
    this.bindingRule = new ACLBindingRules(transport);
  }

  /**
   * Logs in through an auth method: exchanges a credential (a JWT, a Kubernetes
   * service-account token) for a new Consul token whose roles and service identities come
   * from the method's binding rules. Needs no ACL token. Destroy it with {@link Acl.logout}.
   *
   * @example
   * ```ts
   * const { SecretID } = await consul.acl.login({ AuthMethod: 'ci', BearerToken: jwt });
   * ```
   * @throws ValidationError for a missing auth method or bearer token
   * @throws PermissionDeniedError when no binding rule matches the verified claims
   * @throws ConsulHttpError (500 in Consul 1.8) when the credential fails verification (bad
   *   signature, issuer, audience or expiry); its `body` says why
   */
  login(request: ACLLoginRequest, options: CallOptions = {}): Promise<ACLToken> {
    return login(this.#transport, request, options);
  }

  /**
   * Destroys a token that {@link Acl.login} created. The request is sent with that token
   * (as Consul requires), not the client's; other tokens are refused.
   */
  logout(token: string, options: Omit<CallOptions, 'token'> = {}): Promise<void> {
    return logout(this.#transport, token, options);
  }

  /**
   * Bootstraps the ACL system and resolves to the initial management token. Works once per
   * cluster (until a reset); needs no token.
   *
   * @throws AclBootstrapError when the ACL system is already bootstrapped, including when a
   *   master token is configured; it carries the reset index Consul reports
   */
  async bootstrap(options: CallOptions = {}): Promise<ACLToken> {
    try {
      const response = await this.#transport.request<ACLToken>({
        method: 'PUT',
        path: '/v1/acl/bootstrap',
        call: options,
        response: 'json',
      });
      return response.body;
    } catch (error) {
      // The bootstrap endpoint needs no privilege, so its only 403 is "no longer allowed".
      if (error instanceof PermissionDeniedError && error.status === 403) {
        const reset = /reset index: (\d+)/.exec(error.body)?.[1];
        throw new AclBootstrapError(
          { status: error.status, method: error.method, path: error.path, body: error.body },
          reset === undefined ? undefined : BigInt(reset),
          { cause: error },
        );
      }
      throw error;
    }
  }

  /** ACL replication status of the server that answers. */
  replication(options: ReadOptions = {}): ConsulRead<ACLReplicationStatus> {
    // The replicated indexes are uint64 fields of the JSON parser, so they arrive as bigint.
    return read<ACLReplicationStatus, ACLReplicationStatus>(
      this.#transport,
      { method: 'GET', path: '/v1/acl/replication', read: options, response: 'json' },
      (body) => body,
    );
  }

  /** @deprecated Legacy ACL API (removed in Consul 1.11): use `acl.token.create`. Same as `acl.legacy.create`. */
  create(request: LegacyAclCreateRequest = {}, options: CallOptions = {}): Promise<string> {
    return this.legacy.create(request, options);
  }

  /** @deprecated Legacy ACL API: use `acl.token.update`. Same as `acl.legacy.update`. */
  update(request: LegacyAclUpdateRequest, options: CallOptions = {}): Promise<string> {
    return this.legacy.update(request, options);
  }

  /** @deprecated Legacy ACL API: use `acl.token.delete`. Same as `acl.legacy.destroy`. */
  destroy(id: string, options: CallOptions = {}): Promise<boolean> {
    return this.legacy.destroy(id, options);
  }

  /** @deprecated Legacy ACL API: use `acl.token.read`. Same as `acl.legacy.info`. */
  info(id: string, options: ReadOptions = {}): ConsulRead<LegacyAcl | undefined> {
    return this.legacy.info(id, options);
  }

  /** @deprecated Legacy ACL API: use `acl.token.clone`. Same as `acl.legacy.clone`. */
  clone(id: string, options: CallOptions = {}): Promise<string> {
    return this.legacy.clone(id, options);
  }

  /** @deprecated Legacy ACL API: use `acl.token.list`. Same as `acl.legacy.list`. */
  list(options: ReadOptions = {}): ConsulRead<LegacyAcl[]> {
    return this.legacy.list(options);
  }
}
