/**
 * Public contracts of {@link startCluster}: a real multi-agent Consul datacenter for tests,
 * with the faults a production cluster suffers (crashes, lost state, frozen processes,
 * partitions, slow links) one method call away.
 */

/** Options for `startCluster`. */
export interface StartClusterOptions {
  /** Server agents (raft voters), 1–7. Default 3. */
  servers?: number;
  /** Client agents, 0–16. Default 2. */
  clients?: number;
  /**
   * Where the agents run: `'binary'` (host processes of the consul binary on loopback
   * addresses of their own), `'container'` (containers of the Consul image on a Docker
   * network of the cluster's own; needs a Docker engine) or `'auto'` (default): the binary
   * backend, unless env `CONSULKIT_CLUSTER_BACKEND` is `container`. See the README section
   * "Testing against a cluster" for why `'auto'` is not the container backend yet.
   */
  backend?: 'auto' | 'binary' | 'container';
  /**
   * Enable ACLs with a master token on the servers (also used as every agent's own token).
   * `true` → default-deny with a random UUID token.
   */
  acl?: boolean | { masterToken?: string; defaultPolicy?: 'allow' | 'deny' };
  /**
   * `performance.raft_multiplier`. Default 1 (production timing: a new leader in ~1–3 s);
   * Consul's own default of 5 makes an election take ~10–15 s.
   */
  raftMultiplier?: number;
  /** Extra HCL for every agent, merged after the harness's own file so its values win. */
  hcl?: string;
  /** Receives the harness's log lines. Default: stderr, prefixed with `[consulkit/testing]`. */
  log?: (line: string) => void;
  /** How long to wait for a leader and every agent to join. Default 90 000 ms. */
  timeoutMs?: number;
}

/** Options for {@link ClusterNode.restart}. */
export interface RestartOptions {
  /**
   * Keep the data folder (default true): a process restart. `false` wipes it first: an
   * agent that comes back with its state lost (same node name, ID and addresses, no
   * sessions, checks, raft log or snapshots of its own). For a container, `true` starts the
   * same container again and `false` replaces it with a fresh one from the image.
   */
  keepData?: boolean;
}

/** One agent of a running cluster. */
export interface ClusterNode {
  /** Node name, e.g. `ck1a2b3c-server-1`. */
  readonly name: string;
  readonly role: 'server' | 'client';
  /**
   * The address the other agents reach this one at: a loopback address of its own
   * (binary backend, e.g. `127.0.1.3`) or its address on the cluster network (container
   * backend, e.g. `10.217.0.13`, not reachable from the host).
   */
  readonly ip: string;
  /**
   * Base URL of this agent's HTTP API as this process reaches it, e.g. `http://127.0.1.3:PORT`
   * (binary) or the published port, `http://127.0.0.1:PORT` (container).
   */
  readonly address: string;
  /**
   * Base URL of a relay in front of the same HTTP API whose latency {@link delay} controls.
   * Point a client here when a test needs to slow its traffic down.
   */
  readonly proxyAddress: string;
  /**
   * The agent's ports at {@link ip} (server RPC is unused on clients); in a container these
   * are Consul's standard ports inside it (8500, 8301, 8300).
   */
  readonly ports: { readonly http: number; readonly serfLan: number; readonly server: number };
  /** `'running'`, `'frozen'` (after {@link freeze}) or `'killed'`. */
  readonly state: 'running' | 'frozen' | 'killed';
  /** Whether {@link isolate} is in force. */
  readonly isolated: boolean;
  /**
   * SIGKILL (`docker kill` for a container): a crash, no graceful leave. The node's addresses
   * stay reserved for {@link restart}.
   */
  kill(): Promise<void>;
  /**
   * Kills the agent if it runs (or is frozen) and starts it again on the same addresses;
   * resolves when its API knows a raft leader again. An isolation in force stays in force.
   */
  restart(options?: RestartOptions): Promise<void>;
  /**
   * SIGSTOP (`docker pause` for a container): the agent stops answering anyone, its own HTTP
   * API included, until {@link thaw}.
   */
  freeze(): Promise<void>;
  /** SIGCONT (`docker unpause`) after {@link freeze}. */
  thaw(): Promise<void>;
  /**
   * Cuts the node from every other node of the cluster (Serf LAN over TCP and UDP, server
   * RPC) while its HTTP API still answers the application: what a node cut off from the
   * servers looks like. Binary backend: iptables rules (root or CAP_NET_ADMIN). Container
   * backend: the container is disconnected from the cluster network (its HTTP API is
   * published through the default bridge, which stays connected).
   */
  isolate(): Promise<void>;
  /** Ends {@link isolate}. No-op when not isolated. */
  heal(): Promise<void>;
  /** Delays every chunk through {@link proxyAddress} by `ms` in each direction. */
  delay(ms: number): void;
  /** Ends {@link delay}. */
  undelay(): void;
}

/** A running cluster from `startCluster`. Dispose it (or call {@link stop}) when done. */
export interface Cluster extends AsyncDisposable {
  /** The backend actually used. */
  readonly backend: 'binary' | 'container';
  readonly datacenter: string;
  /** ACL master token when `acl` is on. */
  readonly token?: string;
  readonly servers: readonly ClusterNode[];
  readonly clients: readonly ClusterNode[];
  /** Servers then clients. */
  readonly nodes: readonly ClusterNode[];
  /** The node by name; throws for an unknown name. */
  node(name: string): ClusterNode;
  /**
   * The current raft leader (from `/v1/status/leader`, asked of running, non-isolated
   * servers first). Throws when no reachable agent knows a leader; see {@link waitForLeader}.
   */
  leader(): Promise<ClusterNode>;
  /**
   * Polls until a leader (other than `exclude`) is usable: some reachable agent names it and
   * a consistent read through every running, non-isolated node is served. Resolves to its
   * node. After it, a write through any such node reaches the leader; right after a leader
   * change, before it, a write through a client agent can fail with HTTP 500 ("rpc error
   * getting client") because Consul never retries a failed write on another server.
   * `timeoutMs` (default 60 000) bounds the whole wait.
   */
  waitForLeader(options?: { timeoutMs?: number; exclude?: ClusterNode }): Promise<ClusterNode>;
  /**
   * Kills every agent, removes containers, the cluster network, firewall rules, relays,
   * cgroups and temp folders. Idempotent; also done (synchronously, as far as possible) when
   * the process exits.
   */
  stop(): Promise<void>;
}
