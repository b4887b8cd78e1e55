/**
 * Renders the agent configuration shared by both backends. Only settings that differ from
 * `-dev` defaults are written, so a test sees Consul's own behaviour unless it asks.
 */
import { renderAclBlock } from './acl-config.js';

/** What the generated HCL should switch on. */
export interface AgentConfigInput {
  datacenter: string;
  /** `masterToken` undefined: ACLs on but not bootstrapped (for tests of `acl.bootstrap()`). */
  acl?: { masterToken: string | undefined; defaultPolicy: 'allow' | 'deny' };
  /** Paths as the agent sees them (inside the container for the container backend). */
  tls?: { caFile: string; certFile: string; keyFile: string; verifyIncoming: boolean; httpsPort: number };
  httpMaxConnsPerClient?: number;
}

const quote = (value: string): string => JSON.stringify(value);

/** The harness's own config file (`00-consulkit.hcl`); user HCL goes into a later file. */
export function renderAgentConfig(input: AgentConfigInput): string {
  const lines: string[] = [`datacenter = ${quote(input.datacenter)}`];
  if (input.acl !== undefined) {
    // The agent token is the master token too, so the dev agent can still register its
    // own node and update coordinates under default-deny (otherwise the log fills with
    // "blocked by ACLs" warnings that hide real problems). Without a master token the
    // agent runs with no token until someone bootstraps and hands it one.
    const { masterToken } = input.acl;
    lines.push(
      ...renderAclBlock({ defaultPolicy: input.acl.defaultPolicy, masterToken, agentToken: masterToken }),
    );
  }
  if (input.tls !== undefined) {
    // verify_incoming_https rather than verify_incoming: only the HTTP API needs client
    // certificates; RPC/gossip between test agents stays simple.
    lines.push(
      `ports { https = ${input.tls.httpsPort} }`,
      `ca_file = ${quote(input.tls.caFile)}`,
      `cert_file = ${quote(input.tls.certFile)}`,
      `key_file = ${quote(input.tls.keyFile)}`,
      `verify_incoming_https = ${input.tls.verifyIncoming}`,
    );
  }
  if (input.httpMaxConnsPerClient !== undefined) {
    lines.push(`limits { http_max_conns_per_client = ${Math.trunc(input.httpMaxConnsPerClient)} }`);
  }
  return lines.join('\n') + '\n';
}
