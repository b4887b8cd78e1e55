/**
 * A cluster agent as tests see it: its process, the relay in front of its HTTP API and the
 * firewall rules of an isolation, behind the {@link ClusterNode} contract.
 */
import type { AgentProcess } from './cluster-process.js';
import type { ClusterNode, RestartOptions } from './cluster-types.js';
import type { DelayRelay } from './delay-relay.js';
import type { AppliedRules, FaultEndpoint } from './netfault.js';
import { applyRules, isolationRuleSpecs, ruleComment } from './netfault.js';
import { RelayedClusterNode } from './cluster-node-base.js';

/** What a node needs from its cluster. */
export interface NodeContext {
  /** Every node of the cluster (this one included), for isolation rules. */
  peers(): readonly FaultEndpoint[];
  token: string | undefined;
  log(line: string): void;
}

/** Fixed facts about one node. */
export interface NodeIdentity {
  name: string;
  role: 'server' | 'client';
  ip: string;
  ports: { http: number; serfLan: number; serfWan: number | undefined; server: number };
  cgroupPath: string | undefined;
}

/** Implements {@link ClusterNode} for the binary backend. */
export class BinaryClusterNode extends RelayedClusterNode implements ClusterNode {
  readonly role: 'server' | 'client';
  readonly ip: string;
  readonly address: string;
  readonly ports: { readonly http: number; readonly serfLan: number; readonly server: number };
  readonly endpoint: FaultEndpoint;
  readonly #identity: NodeIdentity;
  readonly #process: AgentProcess;
  readonly #context: NodeContext;
  #isolation: AppliedRules | undefined;

  constructor(identity: NodeIdentity, process: AgentProcess, relay: DelayRelay, context: NodeContext) {
    super(identity.name, relay);
    this.#identity = identity;
    this.role = identity.role;
    this.ip = identity.ip;
    this.ports = {
      http: identity.ports.http,
      serfLan: identity.ports.serfLan,
      server: identity.ports.server,
    };
    this.endpoint = { ip: identity.ip, ports: identity.ports };
    this.address = `http://${identity.ip}:${identity.ports.http}`;
    this.#process = process;
    this.#context = context;
  }

  get state(): 'running' | 'frozen' | 'killed' {
    return this.#process.state;
  }

  get isolated(): boolean {
    return this.#isolation !== undefined;
  }

  /** Last lines of the agent's output, for failure messages. */
  outputTail(lines = 40): string {
    return this.#process.ring.tail(lines);
  }

  /** First start: spawn only; the cluster waits for the whole datacenter at once. */
  start(): Promise<void> {
    return this.serial(() => this.#process.spawn(false));
  }

  kill(): Promise<void> {
    return this.serial(async () => {
      this.#process.ring.add('--- kill ---');
      await this.#process.kill();
    });
  }

  restart(options: RestartOptions = {}): Promise<void> {
    const keepData = options.keepData ?? true;
    return this.serial(async () => {
      this.#process.ring.add(`--- restart (${keepData ? 'data kept' : 'state lost'}) ---`);
      await this.#process.kill();
      await this.#process.spawn(!keepData);
      await this.waitUntilBack(this.address, this.#context.token, () => this.#process.exitInfo);
    });
  }

  freeze(): Promise<void> {
    return this.serial(async () => this.#process.freeze());
  }

  thaw(): Promise<void> {
    return this.serial(async () => this.#process.thaw());
  }

  isolate(): Promise<void> {
    return this.serial(async () => {
      if (this.#isolation !== undefined) return;
      const specs = isolationRuleSpecs(
        this.endpoint,
        this.#context.peers(),
        ruleComment(`isolate:${this.name}`),
        this.#identity.cgroupPath,
      );
      this.#isolation = await applyRules(specs);
      this.#process.ring.add('--- isolated ---');
    });
  }

  heal(): Promise<void> {
    return this.serial(async () => {
      const isolation = this.#isolation;
      if (isolation === undefined) return;
      await isolation.remove();
      this.#isolation = undefined;
      this.#process.ring.add('--- healed ---');
    });
  }

  /** Kills the agent, heals, closes the relay. Errors of every step are collected, not dropped. */
  dispose(): Promise<unknown[]> {
    return this.disposeSteps([
      () => this.#process.kill(),
      async () => {
        await this.#isolation?.remove();
        this.#isolation = undefined;
      },
    ]);
  }
}
