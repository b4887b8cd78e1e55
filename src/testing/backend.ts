/**
 * The contract between `startConsul` and its two backends (container, local binary).
 * Backends own processes/containers and ports; `startConsul` owns the work folder, TLS
 * material and logging.
 */
import type { AgentConfigInput } from './config.js';
import type { TlsMaterial } from './tls.js';

/** What a backend needs to start one dev agent. */
export interface BackendStartSpec {
  nodeName: string;
  /** Host consul binary; required by the binary backend, optional for containers. */
  consulBin: string | undefined;
  /** Per-instance temp folder on the host; removed by `startConsul`'s stop(). */
  workDir: string;
  /** Config apart from TLS file paths and the HTTPS port, which each backend fills in. */
  config: Omit<AgentConfigInput, 'tls'>;
  tls: (TlsMaterial & { verifyIncoming: boolean }) | undefined;
  /** User HCL, written to a second config file so Consul merges it after ours. */
  extraHcl: string | undefined;
  /** ACL master token to await during readiness. */
  token: string | undefined;
  log: (line: string) => void;
}

/** A running (or killed) agent as a backend manages it. */
export interface BackendAgent {
  readonly backend: 'container' | 'binary';
  /** Host the published ports are reachable on (127.0.0.1 for a local engine). */
  readonly host: string;
  readonly ports: { http: number; https?: number; serfLan: number };
  /** Current Serf LAN address for `agent.join` from another agent of the same backend. */
  serfLanAddress(): string;
  /** Image tag or binary path, for the start log line. */
  readonly describe: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** File names inside the agent's config folder. */
export const CONFIG_FILE = '00-consulkit.hcl';
/** User HCL sorts after ours, so its values win where both set something. */
export const EXTRA_CONFIG_FILE = '50-extra.hcl';
