/**
 * The local agent: `/v1/agent`. Its services and checks live in `agent.service` and
 * `agent.check`.
 *
 * @packageDocumentation
 */
import { optionKeys } from '../../options-check.js';
import { ValidationError } from '../../errors.js';
import { validateToken } from '../../transport/token.js';
import type { Transport } from '../../transport/transport.js';
import { CALL_OPTION_KEYS, type CallOptions, type ReadOptions } from '../../transport/types.js';
import { AgentChecks } from './agent-checks.js';
import { AgentConnect } from './agent-connect.js';
import { AgentServices } from './agent-services.js';
import type {
  AgentService,
  AgentForceLeaveOptions,
  AgentJoinOptions,
  AgentMember,
  AgentMembersOptions,
  AgentSelf,
} from './agent-types.js';
import { read, type ConsulRead } from '../read.js';
import { requireName, segment } from '../validate.js';

/**
 * Options of {@link Agent.readService}: hash-based blocking (`hash`, `wait`) instead of an
 * index, as the agent's local service endpoint offers.
 */
export type AgentServiceReadOptions = Omit<ReadOptions, 'index' | 'consistency' | 'filter' | 'cached'>;

/**
 * Which of the agent's ACL tokens `agent.updateToken` sets (Consul 1.4.3+ names):
 * `default` for requests that carry none, `agent` for the agent's own operations,
 * `agent_master` for agent-local recovery, `replication` for ACL replication.
 */
export type AgentTokenKind = 'default' | 'agent' | 'agent_master' | 'replication';

const AGENT_TOKEN_KINDS: ReadonlySet<string> = new Set(['default', 'agent', 'agent_master', 'replication']);

/** Every key of {@link AgentForceLeaveOptions}, for the refusal of a misspelt one. */
const AGENT_FORCE_LEAVE_OPTION_KEYS = optionKeys<CallOptions & AgentForceLeaveOptions>()([
  ...CALL_OPTION_KEYS,
  'prune',
]);

/** Every key of {@link AgentJoinOptions}, for the refusal of a misspelt one. */
const AGENT_JOIN_OPTION_KEYS = optionKeys<CallOptions & AgentJoinOptions>()([...CALL_OPTION_KEYS, 'wan']);

/** Every key of {@link AgentMembersOptions}, for the refusal of a misspelt one. */
const AGENT_MEMBERS_OPTION_KEYS = optionKeys<CallOptions & AgentMembersOptions>()([
  ...CALL_OPTION_KEYS,
  'wan',
  'segment',
]);

/** The `agent` endpoint group: the agent the client talks to, its membership, services and checks. */
export class Agent {
  /** Services registered on this agent (`/v1/agent/service*`). */
  readonly service: AgentServices;
  /** Checks registered on this agent, and TTL updates (`/v1/agent/check*`). */
  readonly check: AgentChecks;
  /** Connect on this agent: cached CA roots, leaf certificates, authorize (`/v1/agent/connect`). */
  readonly connect: AgentConnect;
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
    this.service = new AgentServices(transport);
    this.check = new AgentChecks(transport);
    this.connect = new AgentConnect(transport);
  }

  /**
   * Reads one service of this agent by ID, as `agent.service.get` does, but as a blocking
   * read: the endpoint blocks on a content hash, not an index. Pass the previous answer's
   * `meta.contentHash` as `hash` (with a `wait`) and the read returns when the service's
   * definition or health differs. `undefined` (at once, with no hash) when the agent does not
   * know the service.
   *
   * @example
   * ```ts
   * const { meta } = await consul.agent.readService('web-1').withMeta();
   * const next = await consul.agent.readService('web-1', { hash: meta.contentHash, wait: '30s' });
   * ```
   */
  readService(
    serviceId: string,
    options: AgentServiceReadOptions = {},
  ): ConsulRead<AgentService | undefined> {
    return read<AgentService | undefined, AgentService | undefined>(
      this.#transport,
      {
        method: 'GET',
        path: `/v1/agent/service/${segment('serviceId', serviceId)}`,
        read: options,
        allowNotFound: true,
        response: 'json',
      },
      (body) => body,
    );
  }

  /**
   * Sets one of the agent's ACL tokens at run time, without a restart. With
   * `enable_token_persistence` the agent keeps it across restarts; otherwise it lasts until
   * the next restart or reload. Needs `acl = "write"`; an agent without ACLs refuses it.
   *
   * @example
   * ```ts
   * await consul.agent.updateToken('default', readOnlyToken);
   * ```
   * @throws ValidationError for an unknown kind or an empty token
   */
  async updateToken(kind: AgentTokenKind, token: string, options: CallOptions = {}): Promise<void> {
    if (!AGENT_TOKEN_KINDS.has(kind as string)) {
      throw new ValidationError(
        'kind',
        `'${String(kind)}' is not one of ${[...AGENT_TOKEN_KINDS].join(', ')}`,
      );
    }
    // The agent sends this token in its own headers: the same rule as the client's token.
    validateToken(token, 'token');
    await this.#transport.request({
      method: 'PUT',
      path: `/v1/agent/token/${kind}`,
      body: { json: { Token: token } },
      call: options,
      idempotent: true,
      response: 'none',
    });
  }

  /** The agent's configuration summary, Serf member entry, coordinate, stats and node metadata. */
  async self(options: CallOptions = {}): Promise<AgentSelf> {
    const response = await this.#transport.request<AgentSelf>({
      method: 'GET',
      path: '/v1/agent/self',
      call: options,
      response: 'json',
    });
    return response.body;
  }

  /**
   * The members of the agent's Serf pool (LAN by default), as this agent sees them. A member's
   * `Status` is a {@link MemberStatus} code.
   */
  async members(options: AgentMembersOptions = {}): Promise<AgentMember[]> {
    const { wan, segment: networkSegment, ...call } = options;
    if (networkSegment !== undefined) requireName('segment', networkSegment);
    const response = await this.#transport.request<AgentMember[] | null>({
      method: 'GET',
      path: '/v1/agent/members',
      // Consul 1.8 reads `wan` with Query().Get, so a bare flag would be ignored.
      query: { wan: wan === true ? '1' : undefined, segment: networkSegment },
      call,
      optionKeys: AGENT_MEMBERS_OPTION_KEYS,
      response: 'json',
    });
    return response.body ?? [];
  }

  /**
   * Asks the agent to join another agent's Serf pool.
   *
   * @param address - Serf address of an agent already in the pool: `host` or `host:port`
   *   (the LAN Serf port, 8301 by default; the WAN one, 8302, with `wan`)
   */
  async join(address: string, options: AgentJoinOptions = {}): Promise<void> {
    const { wan, ...call } = options;
    await this.#transport.request({
      method: 'PUT',
      path: `/v1/agent/join/${segment('address', address)}`,
      query: { wan: wan === true ? '1' : undefined },
      call,
      optionKeys: AGENT_JOIN_OPTION_KEYS,
      idempotent: true,
      response: 'none',
    });
  }

  /**
   * Forces a member into the `left` state, e.g. a node that failed and will not come back;
   * with `prune`, removes it from the member list at once.
   *
   * @throws ConsulHttpError (500) when the agent knows no member of that name
   */
  async forceLeave(node: string, options: AgentForceLeaveOptions = {}): Promise<void> {
    const { prune, ...call } = options;
    await this.#transport.request({
      method: 'PUT',
      path: `/v1/agent/force-leave/${segment('node', node)}`,
      query: { prune: prune === true ? '1' : undefined },
      call,
      optionKeys: AGENT_FORCE_LEAVE_OPTION_KEYS,
      idempotent: true,
      response: 'none',
    });
  }

  /** Makes the agent reload its configuration files, as on SIGHUP. */
  async reload(options: CallOptions = {}): Promise<void> {
    await this.#transport.request({
      method: 'PUT',
      path: '/v1/agent/reload',
      call: options,
      idempotent: true,
      response: 'none',
    });
  }

  /**
   * Puts the whole node into maintenance mode (a critical `_node_maintenance` check, so every
   * service on the node drops out of passing-only queries) or takes it out again.
   *
   * @param reason - shown as the maintenance check's notes
   */
  async maintenance(enable: boolean, reason?: string, options: CallOptions = {}): Promise<void> {
    if (typeof enable !== 'boolean') throw new ValidationError('enable', 'must be a boolean');
    if (reason !== undefined && typeof reason !== 'string')
      throw new ValidationError('reason', 'must be a string');
    await this.#transport.request({
      method: 'PUT',
      path: '/v1/agent/maintenance',
      query: { enable: String(enable), reason },
      call: options,
      idempotent: true,
      response: 'none',
    });
  }
}
