/**
 * `consulkit/testing`: start a real, throwaway Consul agent for tests.
 *
 * Every agent runs in `-dev` mode (a single in-memory server that elects itself), either in
 * a Docker container (preferred: isolated, same as CI elsewhere) or as a local `consul`
 * process when no Docker engine answers. There is deliberately no mock: tests talk to the
 * real HTTP API.
 *
 * @example
 * ```ts
 * await using consul = await startConsul({ acl: true });
 * await fetch(`${consul.address}/v1/kv/x`, { method: 'PUT', body: '1', headers: { 'X-Consul-Token': consul.token! } });
 * ```
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendAgent, BackendStartSpec } from './backend.js';
import { startBinaryAgent } from './binary-backend.js';
import { trackDir, untrackDir } from './cleanup.js';
import { findConsulBinary } from './consul-bin.js';
import { startContainerAgent } from './container-backend.js';
import { dockerEngineAvailable } from './docker.js';
import { agentVersion } from './ready.js';
import { createTlsMaterial } from './tls.js';
import { checkOptionKeys, optionKeys } from '../options-check.js';

export { DEFAULT_CONSUL_IMAGE, LOCAL_CONSUL_IMAGE, dockerEngineAvailable } from './docker.js';
export { findConsulBinary } from './consul-bin.js';

/** Options for {@link startConsul}. */
export interface StartConsulOptions {
  /**
   * Where the agent runs. `'auto'` (default) picks `'container'` when a Docker engine
   * answers `docker info`, else `'binary'`. Env `CONSULKIT_BACKEND` (`auto`, `container` or
   * `binary`) replaces the default, so CI without Docker can force the binary backend; an
   * explicit `'container'` or `'binary'` here wins over the environment.
   */
  backend?: 'auto' | 'container' | 'binary';
  /**
   * Enable ACLs with a master (bootstrap) token. `true` → default-deny with a random UUID
   * token; an object sets the token and/or the default policy (default `'deny'`).
   * `masterToken: false` leaves the ACL system unbootstrapped and {@link ConsulInstance.token}
   * unset: the first `PUT /v1/acl/bootstrap` (`consul.acl.bootstrap()`) then returns the
   * initial management token, as on a fresh production cluster.
   */
  acl?: boolean | { masterToken?: string | false; defaultPolicy?: 'allow' | 'deny' };
  /**
   * Serve HTTPS with a CA and server certificate made by `consul tls ca create` /
   * `consul tls cert create -server` (the host binary, in a temp folder). A client
   * certificate (`consul tls cert create -client`) is always made too;
   * `verifyIncoming: true` makes the HTTPS API require it. Plain HTTP stays enabled.
   */
  tls?: boolean | { verifyIncoming?: boolean };
  /**
   * Extra HCL for the agent. Written to a second file of the config folder, which Consul
   * merges after the harness's own, so values set here win.
   */
  hcl?: string;
  /** `limits.http_max_conns_per_client`; left at Consul's default (200) unless set. */
  httpMaxConnsPerClient?: number;
  /** Node name (default: a unique `consulkit-xxxxxxxx`). */
  nodeName?: string;
  /**
   * Receives the harness's log lines (backend chosen, image or binary, version, address,
   * start time). Default: stderr, prefixed with `[consulkit/testing]`.
   */
  log?: (line: string) => void;
}

/** Every key of {@link StartConsulOptions}: `startConsul()` refuses any other. */
const START_CONSUL_OPTION_KEYS = optionKeys<StartConsulOptions>()([
  'backend',
  'acl',
  'tls',
  'hcl',
  'httpMaxConnsPerClient',
  'nodeName',
  'log',
]);

/** Every key of the object form of {@link StartConsulOptions.acl}. */
const ACL_OPTION_KEYS = optionKeys<Exclude<NonNullable<StartConsulOptions['acl']>, boolean>>()([
  'masterToken',
  'defaultPolicy',
]);

/** Every key of the object form of {@link StartConsulOptions.tls}. */
const TLS_OPTION_KEYS = optionKeys<Exclude<NonNullable<StartConsulOptions['tls']>, boolean>>()([
  'verifyIncoming',
]);

/** A running dev agent. Dispose it (or call {@link ConsulInstance.stop}) when done. */
export interface ConsulInstance extends AsyncDisposable {
  /** The backend actually used. */
  readonly backend: 'container' | 'binary';
  /**
   * Base URL of the API: `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` with `tls`.
   * Only a container engine on another machine (or one that Testcontainers reaches through
   * a gateway that is not an address of this machine) gives that engine's host instead.
   */
  readonly address: string;
  /**
   * Plain-HTTP base URL, also with `tls` (Consul keeps HTTP on alongside HTTPS). Always set:
   * the harness itself uses it for readiness checks, so disabling HTTP via `hcl` is not
   * supported.
   */
  readonly httpAddress: string;
  /** ACL master token when `acl` is on (unset with `acl: { masterToken: false }`). */
  readonly token?: string;
  /** CA certificate (PEM) when `tls` is on. */
  readonly ca?: string;
  /** A client certificate and key signed by {@link ca} when `tls` is on (for mTLS). */
  readonly clientCert?: { cert: string; key: string };
  /** DNS name in the server certificate (`server.dc1.consul`) when `tls` is on. */
  readonly tlsServerName?: string;
  /** Always `'dc1'`. */
  readonly datacenter: string;
  readonly nodeName: string;
  /**
   * `host:port` of the agent's Serf LAN listener, for `agent.join` from another instance
   * of the SAME backend. Binary: `127.0.0.1:<port>`. Container: `<container IP>:8301` on
   * Docker's bridge network, because the join is performed by the other agent from inside
   * its own container, where 127.0.0.1 is itself; on Linux that IP is reachable from the
   * host too. The value is re-read on every access since a restart can change the IP.
   */
  readonly serfLanAddress: string;
  /** Ports published on the host (for the container backend: the mapped host ports). */
  readonly ports: { http: number; https?: number; serfLan: number };
  /**
   * Path of the consul binary on the host, for tests that run reference clients
   * (`consul lock`, `consul watch`, ...). Throws on access if none could be found.
   */
  readonly consulBin: string;
  /** Removes the container / kills the process and deletes temp folders. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILLs the agent, as in a crash. Its host ports stay reserved for {@link restart}. */
  kill(): Promise<void>;
  /**
   * Starts a fresh agent (all state lost: dev mode keeps it in memory) on the SAME host
   * ports, after {@link kill} or while running; resolves when `/v1/status/leader` answers
   * with a leader (and, with ACLs, the master token works).
   */
  restart(): Promise<void>;
}

const DATACENTER = 'dc1';

function defaultLog(line: string): void {
  process.stderr.write(`[consulkit/testing] ${line}\n`);
}

async function chooseBackend(requested: StartConsulOptions['backend']): Promise<'container' | 'binary'> {
  let choice = requested ?? 'auto';
  if (choice === 'auto') {
    const fromEnv = process.env['CONSULKIT_BACKEND'];
    if (fromEnv !== undefined && fromEnv !== '') {
      if (fromEnv !== 'auto' && fromEnv !== 'container' && fromEnv !== 'binary') {
        throw new Error(
          `consulkit/testing: CONSULKIT_BACKEND must be auto, container or binary, not ${fromEnv}`,
        );
      }
      choice = fromEnv;
    }
  }
  const engine = await dockerEngineAvailable();
  if (choice === 'auto') return engine ? 'container' : 'binary';
  if (choice === 'container' && !engine) {
    throw new Error(
      'consulkit/testing: backend "container" requested but no Docker engine answers `docker info`',
    );
  }
  return choice;
}

class Instance implements ConsulInstance {
  readonly backend: 'container' | 'binary';
  readonly address: string;
  readonly httpAddress: string;
  readonly token?: string;
  readonly ca?: string;
  readonly clientCert?: { cert: string; key: string };
  readonly tlsServerName?: string;
  readonly datacenter = DATACENTER;
  readonly nodeName: string;
  readonly ports: { http: number; https?: number; serfLan: number };
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly agent: BackendAgent,
    private readonly bin: string | undefined,
    private readonly binError: unknown,
    private readonly workDir: string,
    extras: {
      token?: string;
      ca?: string;
      clientCert?: { cert: string; key: string };
      tlsServerName?: string;
    },
    nodeName: string,
  ) {
    this.backend = agent.backend;
    this.nodeName = nodeName;
    this.ports = agent.ports;
    this.httpAddress = `http://${agent.host}:${agent.ports.http}`;
    this.address =
      agent.ports.https === undefined ? this.httpAddress : `https://${agent.host}:${agent.ports.https}`;
    if (extras.token !== undefined) this.token = extras.token;
    if (extras.ca !== undefined) this.ca = extras.ca;
    if (extras.clientCert !== undefined) this.clientCert = extras.clientCert;
    if (extras.tlsServerName !== undefined) this.tlsServerName = extras.tlsServerName;
  }

  get serfLanAddress(): string {
    return this.agent.serfLanAddress();
  }

  get consulBin(): string {
    if (this.bin === undefined) {
      throw new Error(
        `consulkit/testing: no consul binary on the host: ${(this.binError as Error)?.message}`,
      );
    }
    return this.bin;
  }

  kill(): Promise<void> {
    return this.agent.kill();
  }

  restart(): Promise<void> {
    return this.agent.restart();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await this.agent.stop();
      } finally {
        await rm(this.workDir, { recursive: true, force: true });
        untrackDir(this.workDir);
      }
    })();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * Starts a throwaway Consul dev agent and resolves once it has a leader (and, with ACLs,
 * once the master token works). Always pair with `stop()` (or `await using`): processes
 * and containers are also removed on process exit, but only as a last resort.
 */
export async function startConsul(options: StartConsulOptions = {}): Promise<ConsulInstance> {
  // A misspelt `nodeNmae` or `acl: { defaultPolcy }` would otherwise start an agent other
  // than the one the test means, and the test would pass or fail for the wrong reason.
  checkOptionKeys(options, START_CONSUL_OPTION_KEYS, 'startConsul()');
  checkOptionKeys(options.acl, ACL_OPTION_KEYS, 'startConsul()', 'acl');
  checkOptionKeys(options.tls, TLS_OPTION_KEYS, 'startConsul()', 'tls');
  const startedAt = performance.now();
  const log = options.log ?? defaultLog;
  const backend = await chooseBackend(options.backend);
  const nodeName = options.nodeName ?? `consulkit-${randomUUID().slice(0, 8)}`;

  const aclOption = options.acl ?? false;
  const aclObject = aclOption === true || aclOption === false ? {} : aclOption;
  const acl =
    aclOption === false
      ? undefined
      : {
          masterToken: aclObject.masterToken === false ? undefined : (aclObject.masterToken ?? randomUUID()),
          defaultPolicy: aclObject.defaultPolicy ?? ('deny' as const),
        };
  const tlsOption = options.tls ?? false;
  const tlsWanted = tlsOption !== false;
  const verifyIncoming = tlsOption !== false && tlsOption !== true && tlsOption.verifyIncoming === true;

  // The host binary is required for the binary backend and for TLS material; otherwise its
  // absence is only reported if a test asks for `consulBin`.
  let consulBin: string | undefined;
  let binError: unknown;
  try {
    consulBin = await findConsulBinary();
  } catch (error) {
    if (backend === 'binary' || tlsWanted) throw error;
    binError = error;
  }

  const workDir = await mkdtemp(join(tmpdir(), 'consulkit-'));
  trackDir(workDir);
  try {
    let tls: BackendStartSpec['tls'];
    if (tlsWanted && consulBin !== undefined) {
      const tlsDir = join(workDir, 'tls');
      await mkdir(tlsDir);
      tls = { ...(await createTlsMaterial(consulBin, tlsDir, DATACENTER)), verifyIncoming };
    }
    const spec: BackendStartSpec = {
      nodeName,
      consulBin,
      workDir,
      config: {
        datacenter: DATACENTER,
        ...(acl === undefined ? {} : { acl }),
        ...(options.httpMaxConnsPerClient === undefined
          ? {}
          : { httpMaxConnsPerClient: options.httpMaxConnsPerClient }),
      },
      tls,
      extraHcl: options.hcl,
      token: acl?.masterToken,
      log,
    };
    const agent = backend === 'container' ? await startContainerAgent(spec) : await startBinaryAgent(spec);
    const instance = new Instance(
      agent,
      consulBin,
      binError,
      workDir,
      {
        ...(acl?.masterToken === undefined ? {} : { token: acl.masterToken }),
        ...(tls === undefined
          ? {}
          : { ca: tls.ca, clientCert: tls.clientCert, tlsServerName: tls.serverName }),
      },
      nodeName,
    );
    const version = await agentVersion(instance.httpAddress, acl?.masterToken);
    const features = [acl && 'acl', tls && (verifyIncoming ? 'mtls' : 'tls')].filter(Boolean).join(',');
    log(
      `${backend} backend (${agent.describe}, consul ${version}) node ${nodeName} at ${instance.address}` +
        `${features === '' ? '' : ` [${features}]`} started in ${Math.round(performance.now() - startedAt)} ms`,
    );
    return instance;
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    untrackDir(workDir);
    throw error;
  }
}

export { startCluster } from './cluster.js';
export type { Cluster, ClusterNode, RestartOptions, StartClusterOptions } from './cluster-types.js';
