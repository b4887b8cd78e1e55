/**
 * The exact ACL rules each primitive needs, as HCL for `consul.acl.policy.create({ Rules })`
 * or `consul acl policy create -rules`. Tested against a default-deny agent with a token that
 * holds only these rules.
 *
 * What each rule is for:
 * - `key` / `key_prefix` write: acquire and release (a one-operation transaction and a KV
 *   write), watch the key (read is implied by write), delete stale contender keys;
 * - `session "<node>"` write: create, renew and destroy the session, which belongs to the
 *   node of the agent the client talks to;
 * - `service "consulkit-session"` write, only with the heartbeat (fast failover): register,
 *   heartbeat and deregister the session's check.
 *
 * @packageDocumentation
 */
import { validateKey } from '../../api/kv.js';
import { requireName } from '../../api/validate.js';
import { DEFAULT_HEARTBEAT_SERVICE } from './session-options.js';
import { normalizeSemaphorePrefix } from './semaphore.js';

/** Options of the rule builders. */
export interface AclRulesOptions {
  /** Include what the heartbeat (FAST_FAILOVER) needs. `true` for the default service name, or the name. */
  heartbeat?: boolean | string;
}

function quote(value: string): string {
  return JSON.stringify(value);
}

function sessionRules(node: string, options: AclRulesOptions): string[] {
  const rules = [`session ${quote(requireName('node', node))} { policy = "write" }`];
  if (options.heartbeat) {
    const service = typeof options.heartbeat === 'string' ? options.heartbeat : DEFAULT_HEARTBEAT_SERVICE;
    rules.push(`service ${quote(service)} { policy = "write" }`);
  }
  return rules;
}

/**
 * The rules a lock (or an election) on `key` needs, for clients of the agent on `node`.
 *
 * @example
 * ```ts
 * const rules = lockAclRules('jobs/report/.lock', 'web-1');
 * // key "jobs/report/.lock" { policy = "write" }
 * // session "web-1" { policy = "write" }
 * ```
 */
export function lockAclRules(key: string, node: string, options: AclRulesOptions = {}): string {
  return [`key ${quote(validateKey(key))} { policy = "write" }`, ...sessionRules(node, options)].join('\n');
}

/** The rules a semaphore on `prefix` needs, for clients of the agent on `node`. */
export function semaphoreAclRules(prefix: string, node: string, options: AclRulesOptions = {}): string {
  const normalized = normalizeSemaphorePrefix(prefix);
  return [`key_prefix ${quote(`${normalized}/`)} { policy = "write" }`, ...sessionRules(node, options)].join(
    '\n',
  );
}

/** The rules an election on `key` needs: those of a lock on `key`. */
export const electionAclRules = lockAclRules;
