/**
 * Cluster operations: `/v1/operator`. Raft peers, Autopilot and the gossip keyring.
 *
 * @packageDocumentation
 */
import { toMilliseconds } from '../../duration.js';
import { ConsulHttpError, ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import { optionKeys } from '../../options-check.js';
import { CALL_OPTION_KEYS, type CallOptions } from '../../transport/types.js';
import { parseConsulJson } from '../../transport/uint64-json.js';
import type {
  AutopilotConfiguration,
  AutopilotConfigurationRequest,
  AutopilotSetOptions,
  AutopilotHealth,
  KeyringWriteOptions,
  RaftTransferLeaderOptions,
  KeyringListOptions,
  KeyringResponse,
  OperatorReadOptions,
  RaftConfiguration,
  RaftPeerSelector,
} from './operator-types.js';
import { ConsulRead, read } from '../read.js';
import { requireName, uint64 } from '../validate.js';

/** Every key of {@link AutopilotSetOptions}, for the refusal of a misspelt one (`cass`). */
const AUTOPILOT_SET_OPTION_KEYS = optionKeys<AutopilotSetOptions>()([...CALL_OPTION_KEYS, 'cas']);

/** Consul's bounds on the keyring relay factor. */
export const KEYRING_RELAY_FACTOR_MAX = 5;

function checkRelayFactor(value: number | undefined): number | undefined {
  if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > KEYRING_RELAY_FACTOR_MAX)) {
    throw new ValidationError('relayFactor', `must be an integer from 0 to ${KEYRING_RELAY_FACTOR_MAX}`);
  }
  return value === 0 ? undefined : value;
}

/** A gossip key is base64 of 16, 24 or 32 bytes (AES-128/192/256), as `consul keygen` makes. */
function gossipKey(key: unknown): string {
  if (typeof key !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(key)) {
    throw new ValidationError('key', 'must be a base64 gossip key (see `consul keygen`)');
  }
  const length = Buffer.from(key, 'base64').byteLength;
  if (length !== 16 && length !== 24 && length !== 32) {
    throw new ValidationError('key', `decodes to ${length} bytes; a gossip key has 16, 24 or 32`);
  }
  return key;
}

function rejectOptions(options: object, endpoint: string): void {
  for (const name of ['index', 'wait', 'filter', 'cached']) {
    if ((options as Record<string, unknown>)[name] !== undefined) {
      throw new ValidationError(name, `${endpoint} does not support ${name}`);
    }
  }
}

/**
 * The health report inside a 429 answer of `/v1/operator/autopilot/health`, or `undefined`
 * when `error` is anything else. Consul sends the full report with 429 when the cluster is
 * unhealthy; a body that is not a complete report is not decoded.
 */
export function autopilotHealthFromError(error: unknown): AutopilotHealth | undefined {
  if (!(error instanceof ConsulHttpError) || error.status !== 429) return undefined;
  let body: unknown;
  try {
    body = parseConsulJson(error.body);
  } catch {
    // Truncated or not JSON: the caller rethrows the HTTP error itself.
    return undefined;
  }
  if (
    body === null ||
    typeof body !== 'object' ||
    typeof (body as { Healthy?: unknown }).Healthy !== 'boolean'
  ) {
    return undefined;
  }
  return body as AutopilotHealth;
}

/** Every key of {@link RaftTransferLeaderOptions}, for the refusal of a misspelt one. */
const RAFT_TRANSFER_LEADER_OPTION_KEYS = optionKeys<CallOptions & RaftTransferLeaderOptions>()([
  ...CALL_OPTION_KEYS,
  'id',
]);

/** Every key of {@link KeyringWriteOptions}, for the refusal of a misspelt one. */
const KEYRING_WRITE_OPTION_KEYS = optionKeys<CallOptions & KeyringWriteOptions>()([
  ...CALL_OPTION_KEYS,
  'relayFactor',
]);

/** Every key of {@link KeyringListOptions}, for the refusal of a misspelt one. */
const KEYRING_LIST_OPTION_KEYS = optionKeys<CallOptions & KeyringListOptions>()([
  ...CALL_OPTION_KEYS,
  'relayFactor',
]);

/** The `operator` endpoint group. */
export class Operator {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * The servers of the Raft configuration, with the leader and the voters marked. Without a
   * leader Consul answers an error unless `consistency: 'stale'`.
   */
  raftConfiguration(options: OperatorReadOptions = {}): ConsulRead<RaftConfiguration> {
    rejectOptions(options, 'operator.raftConfiguration');
    return read<RaftConfiguration, RaftConfiguration>(
      this.#transport,
      { method: 'GET', path: '/v1/operator/raft/configuration', read: options, response: 'json' },
      (body) => ({ ...body, Servers: body.Servers ?? [] }),
    );
  }

  /**
   * Removes a server from the Raft peer set, by `address` or by `id` (exactly one). For a
   * dead server that `consul force-leave` cannot remove; removing a live server makes it
   * lose its place in the cluster. Consul answers a `ConsulHttpError` when no peer matches.
   *
   * @throws ValidationError unless exactly one of `address` and `id` is a non-empty string
   */
  async raftRemovePeer(peer: RaftPeerSelector, options: CallOptions = {}): Promise<void> {
    if (peer === null || typeof peer !== 'object')
      throw new ValidationError('peer', 'must be { address } or { id }');
    const { address, id } = peer;
    for (const [field, value] of [
      ['address', address],
      ['id', id],
    ] as const) {
      if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) {
        throw new ValidationError(field, 'must be a non-empty string');
      }
    }
    if ((address === undefined) === (id === undefined)) {
      throw new ValidationError('peer', 'give exactly one of address and id');
    }
    await this.#transport.request({
      method: 'DELETE',
      path: '/v1/operator/raft/peer',
      query: { address, id },
      call: options,
      response: 'none',
    });
  }

  /** The Autopilot configuration. Honours `consistency: 'stale'`. */
  autopilotConfiguration(options: OperatorReadOptions = {}): ConsulRead<AutopilotConfiguration> {
    rejectOptions(options, 'operator.autopilotConfiguration');
    return read<AutopilotConfiguration, AutopilotConfiguration>(
      this.#transport,
      { method: 'GET', path: '/v1/operator/autopilot/configuration', read: options, response: 'json' },
      (body) => body,
    );
  }

  /**
   * Autopilot's view of the servers' health. Consul answers an unhealthy cluster with HTTP
   * 429 and the same report; that report is returned (with `Healthy: false`) rather than
   * thrown. Not retried: a retry would treat that 429 as throttling and delay the answer.
   */
  autopilotHealth(options: CallOptions = {}): ConsulRead<AutopilotHealth> {
    const answer = this.#transport
      .request<AutopilotHealth>({
        method: 'GET',
        path: '/v1/operator/autopilot/health',
        call: options,
        idempotent: false,
        response: 'json',
      })
      .then(
        (response) => ({
          data: { ...response.body, Servers: response.body.Servers ?? [] },
          meta: response.meta,
        }),
        (error: unknown) => {
          const health = autopilotHealthFromError(error);
          if (health === undefined) throw error;
          // A 429 carries none of the X-Consul-* headers that metadata would come from.
          return { data: { ...health, Servers: health.Servers ?? [] }, meta: {} };
        },
      );
    return new ConsulRead(answer);
  }

  /**
   * The gossip encryption keys installed in every pool (WAN, and LAN per datacenter), with
   * how many nodes hold each. Without gossip encryption (e.g. a plain `-dev` agent) Consul
   * 1.8 answers a 500 `ConsulHttpError` whose body says "Keyring is empty (encryption not
   * enabled)" (after the transport's retries, since a 500 counts as transient).
   *
   * @throws ValidationError for a `relayFactor` outside 0–5
   */
  keyringList(options: KeyringListOptions = {}): ConsulRead<KeyringResponse[]> {
    const { relayFactor, ...rest } = options;
    if (
      relayFactor !== undefined &&
      (!Number.isInteger(relayFactor) || relayFactor < 0 || relayFactor > KEYRING_RELAY_FACTOR_MAX)
    ) {
      throw new ValidationError('relayFactor', `must be an integer from 0 to ${KEYRING_RELAY_FACTOR_MAX}`);
    }
    return read<KeyringResponse[] | null, KeyringResponse[]>(
      this.#transport,
      {
        method: 'GET',
        path: '/v1/operator/keyring',
        query: { 'relay-factor': relayFactor === 0 ? undefined : relayFactor },
        call: rest,
        optionKeys: KEYRING_LIST_OPTION_KEYS,
        response: 'json',
      },
      (body) => body ?? [],
    );
  }

  /**
   * Installs a new gossip key on every member (it is accepted for decryption but not yet
   * used to encrypt). Then {@link Operator.keyringUse} it and {@link Operator.keyringRemove}
   * the old one.
   *
   * @throws ValidationError for a key that is not base64 of 16, 24 or 32 bytes
   */
  async keyringInstall(key: string, options: KeyringWriteOptions = {}): Promise<void> {
    await this.#keyring('POST', key, options);
  }

  /** Makes an installed gossip key the one every member encrypts with. */
  async keyringUse(key: string, options: KeyringWriteOptions = {}): Promise<void> {
    await this.#keyring('PUT', key, options);
  }

  /** Removes a gossip key from every member; Consul refuses to remove the key in use. */
  async keyringRemove(key: string, options: KeyringWriteOptions = {}): Promise<void> {
    await this.#keyring('DELETE', key, options);
  }

  async #keyring(
    method: 'POST' | 'PUT' | 'DELETE',
    key: string,
    options: KeyringWriteOptions,
  ): Promise<void> {
    const { relayFactor: relay, ...call } = options;
    const body = { Key: gossipKey(key) };
    await this.#transport.request({
      method,
      path: '/v1/operator/keyring',
      query: { 'relay-factor': checkRelayFactor(relay) },
      body: { json: body },
      call,
      optionKeys: KEYRING_WRITE_OPTION_KEYS,
      // Installing, using or removing the same key twice ends in the same keyring.
      idempotent: true,
      response: 'none',
    });
  }

  /**
   * Replaces the Autopilot configuration. With `cas`, writes only if the stored
   * configuration's `ModifyIndex` equals it, and resolves `false` when it does not (never
   * retried); without, always writes and resolves `true`.
   *
   * @example
   * ```ts
   * const current = await consul.operator.autopilotConfiguration();
   * await consul.operator.autopilotSetConfiguration({ ...current, MaxTrailingLogs: 500 }, { cas: current.ModifyIndex });
   * ```
   */
  async autopilotSetConfiguration(
    config: AutopilotConfigurationRequest,
    options: AutopilotSetOptions = {},
  ): Promise<boolean> {
    if (config === null || typeof config !== 'object')
      throw new ValidationError('config', 'must be an object');
    const { cas, ...call } = options;
    const casValue = cas === undefined ? undefined : uint64('cas', cas);
    for (const field of ['LastContactThreshold', 'ServerStabilizationTime'] as const) {
      const value: unknown = config[field];
      if (value !== undefined) toMilliseconds(value as string, field);
    }
    for (const field of ['MaxTrailingLogs', 'MinQuorum'] as const) {
      const value: unknown = config[field];
      if (value !== undefined && (!Number.isInteger(value) || (value as number) < 0)) {
        throw new ValidationError(field, `expected a non-negative integer, got ${String(value)}`);
      }
    }
    // Consul rejects read-only fields only by ignoring them; sending them would suggest they count.
    const { CreateIndex: _created, ModifyIndex: _modified, ...body } = config as AutopilotConfiguration;
    const response = await this.#transport.request<boolean | undefined>({
      method: 'PUT',
      path: '/v1/operator/autopilot/configuration',
      query: { cas: casValue },
      body: { json: body },
      call,
      optionKeys: AUTOPILOT_SET_OPTION_KEYS,
      idempotent: cas === undefined,
      response: 'json',
    });
    // Without cas Consul 1.8 answers `true`; some versions answer an empty body.
    return response.body !== false;
  }

  /**
   * Asks the leader to hand leadership to another voter (`POST /v1/operator/raft/transfer-leader`,
   * Consul 1.15+; Consul 1.8 has no such endpoint and answers 404, a `NotFoundError`).
   * Resolves whether Consul reported success.
   */
  async raftTransferLeader(options: RaftTransferLeaderOptions = {}): Promise<boolean> {
    const { id, ...call } = options;
    if (id !== undefined) requireName('id', id);
    const response = await this.#transport.request<{ Success?: boolean }>({
      method: 'POST',
      path: '/v1/operator/raft/transfer-leader',
      query: { id },
      call,
      optionKeys: RAFT_TRANSFER_LEADER_OPTION_KEYS,
      idempotent: false,
      response: 'json',
    });
    return response.body.Success === true;
  }
}
