/**
 * ACL auth methods: `/v1/acl/auth-method`, `/v1/acl/auth-methods` (Consul 1.5+; `jwt` in
 * 1.8+), and the login/logout calls that use them.
 *
 * @packageDocumentation
 */
import { formatDuration, toMilliseconds, type Duration } from '../../duration.js';
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import type { CallOptions, ReadOptions } from '../../transport/types.js';
import type { ACLToken } from './acl-tokens.js';
import { read, readAs, type ConsulRead } from '../read.js';
import { requireName, segment } from '../validate.js';

/** An auth method as Consul returns it. */
export interface ACLAuthMethod {
  /** Unique name. */
  Name: string;
  /** `kubernetes` or `jwt` (`oidc` in Consul Enterprise). */
  Type: string;
  /** Name shown instead of `Name` (Consul 1.8+). */
  DisplayName?: string;
  /** Free-form description. */
  Description: string;
  /** Longest life of a token this method creates, as a Go duration (Consul 1.8+). */
  MaxTokenTTL?: string;
  /** `local` (default) or `global` tokens (Consul 1.8+). */
  TokenLocality?: 'local' | 'global' | '';
  /** Type-specific configuration, e.g. `JWTValidationPubKeys` for `jwt`. */
  Config: Record<string, unknown>;
  /** Namespace (Consul Enterprise). */
  Namespace?: string;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** An auth method as listed by `GET /v1/acl/auth-methods` (without its configuration). */
export type ACLAuthMethodListEntry = Omit<ACLAuthMethod, 'Config'>;

/** Body of an auth method create or update. */
export interface ACLAuthMethodRequest {
  /** Unique name: letters, digits, `-` and `_`, at most 128 characters. Immutable. */
  Name: string;
  /** `kubernetes` or `jwt`. Immutable. */
  Type: string;
  /** Name shown instead of `Name`. */
  DisplayName?: string;
  /** Free-form description. */
  Description?: string;
  /** Longest life of a token this method creates (`'1h'` or milliseconds); needs `TokenLocality: 'local'` or a global one. */
  MaxTokenTTL?: Duration;
  /** `local` (default) or `global`. */
  TokenLocality?: 'local' | 'global';
  /** Type-specific configuration. */
  Config: Record<string, unknown>;
}

/** Body of {@link ACLAuthMethods.login}. */
export interface ACLLoginRequest {
  /** Auth method to log in with. */
  AuthMethod: string;
  /** The credential the method checks: a Kubernetes service-account JWT, or a JWT for `jwt`. */
  BearerToken: string;
  /** Metadata stored on the created token. */
  Meta?: Record<string, string>;
}

const NAME = /^[A-Za-z0-9\-_]{1,128}$/;

function methodBody(request: ACLAuthMethodRequest): Record<string, unknown> {
  if (request === null || typeof request !== 'object')
    throw new ValidationError('authMethod', 'must be an object');
  if (typeof request.Name !== 'string' || !NAME.test(request.Name)) {
    throw new ValidationError('Name', `'${String(request.Name)}' must be 1-128 letters, digits, '-' or '_'`);
  }
  requireName('Type', request.Type);
  if (request.Config === null || typeof request.Config !== 'object' || Array.isArray(request.Config)) {
    throw new ValidationError('Config', 'must be an object');
  }
  if (
    request.TokenLocality !== undefined &&
    request.TokenLocality !== 'local' &&
    request.TokenLocality !== 'global'
  ) {
    throw new ValidationError(
      'TokenLocality',
      `'${String(request.TokenLocality)}' is not 'local' or 'global'`,
    );
  }
  const body: Record<string, unknown> = { ...request };
  if (request.MaxTokenTTL !== undefined) {
    const ms = toMilliseconds(request.MaxTokenTTL, 'MaxTokenTTL');
    if (ms <= 0) throw new ValidationError('MaxTokenTTL', 'must be greater than zero');
    body['MaxTokenTTL'] = formatDuration(ms);
  }
  return body;
}

/** The auth-method part of the `acl` group: `consul.acl.authMethod`. */
export class ACLAuthMethods {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Creates an auth method. Needs `acl = "write"`.
   *
   * @example
   * ```ts
   * await consul.acl.authMethod.create({ Name: 'ci', Type: 'jwt', Config: { JWTValidationPubKeys: [pem] } });
   * ```
   * @throws ValidationError for a bad name, a missing type or a `Config` that is not an object
   */
  async create(request: ACLAuthMethodRequest, options: CallOptions = {}): Promise<ACLAuthMethod> {
    const response = await this.#transport.request<ACLAuthMethod>({
      method: 'PUT',
      path: '/v1/acl/auth-method',
      body: { json: methodBody(request) },
      call: options,
      response: 'json',
    });
    return response.body;
  }

  /** Reads an auth method by name; `undefined` when there is none. */
  read(name: string, options: ReadOptions = {}): ConsulRead<ACLAuthMethod | undefined> {
    return readAs<ACLAuthMethod | undefined>(this.#transport, {
      method: 'GET',
      path: `/v1/acl/auth-method/${segment('name', name)}`,
      read: options,
      allowNotFound: true,
      response: 'json',
    });
  }

  /** Replaces an auth method's settings; `Name` and `Type` cannot change. */
  async update(
    name: string,
    request: ACLAuthMethodRequest,
    options: CallOptions = {},
  ): Promise<ACLAuthMethod> {
    const path = `/v1/acl/auth-method/${segment('name', name)}`;
    const body = methodBody(request);
    if (body['Name'] !== name)
      throw new ValidationError('Name', `'${String(body['Name'])}' differs from '${name}'`);
    const response = await this.#transport.request<ACLAuthMethod>({
      method: 'PUT',
      path,
      body: { json: body },
      call: options,
      idempotent: true,
      response: 'json',
    });
    return response.body;
  }

  /** Deletes an auth method and every token it created, with its binding rules. */
  async delete(name: string, options: CallOptions = {}): Promise<boolean> {
    const response = await this.#transport.request<boolean>({
      method: 'DELETE',
      path: `/v1/acl/auth-method/${segment('name', name)}`,
      call: options,
      idempotent: true,
      response: 'json',
    });
    return response.body === true;
  }

  /** Every auth method (without configuration); `[]` when there are none. */
  list(options: ReadOptions = {}): ConsulRead<ACLAuthMethodListEntry[]> {
    return read<ACLAuthMethodListEntry[] | null, ACLAuthMethodListEntry[]>(
      this.#transport,
      { method: 'GET', path: '/v1/acl/auth-methods', read: options, response: 'json' },
      (body) => body ?? [],
    );
  }
}

/**
 * Exchanges a credential for a Consul token through an auth method (`POST /v1/acl/login`).
 * The token carries what the method's binding rules grant; no ACL token is needed to call it.
 *
 * @internal Used by `Acl.login`.
 */
export async function login(
  transport: Transport,
  request: ACLLoginRequest,
  options: CallOptions,
): Promise<ACLToken> {
  if (request === null || typeof request !== 'object')
    throw new ValidationError('login', 'must be an object');
  requireName('AuthMethod', request.AuthMethod);
  requireName('BearerToken', request.BearerToken);
  const response = await transport.request<ACLToken>({
    method: 'POST',
    path: '/v1/acl/login',
    body: { json: { ...request } },
    call: options,
    response: 'json',
  });
  return response.body;
}

/**
 * Destroys a token created by {@link login} (`POST /v1/acl/logout`); the token to destroy
 * is the one the request is sent with.
 *
 * @internal Used by `Acl.logout`.
 */
export async function logout(transport: Transport, token: string, options: CallOptions): Promise<void> {
  requireName('token', token);
  await transport.request({
    method: 'POST',
    path: '/v1/acl/logout',
    call: { ...options, token },
    idempotent: false,
    response: 'none',
  });
}
