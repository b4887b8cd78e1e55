/**
 * The `acl { … }` block of the harness's agent configuration, shared by the single agent
 * (`startConsul`) and every cluster agent (`startCluster`), so that both run ACLs the same way.
 */

/** What the rendered `acl` block switches on. */
export interface AclBlockInput {
  defaultPolicy: 'allow' | 'deny';
  /** `tokens.master`; omitted when undefined (a client agent, or ACLs not bootstrapped). */
  masterToken?: string | undefined;
  /** `tokens.agent`: lets the agent register its own node and coordinates under default-deny. */
  agentToken?: string | undefined;
}

const quote = (value: string): string => JSON.stringify(value);

/**
 * The HCL lines of an `acl` block. Token persistence is off, so a restarted agent comes back
 * with the tokens of its config file only. The `tokens` block is written only when there is a
 * token to put in it.
 */
export function renderAclBlock(input: AclBlockInput): string[] {
  const tokens = [
    ...(input.masterToken !== undefined ? [`    master = ${quote(input.masterToken)}`] : []),
    ...(input.agentToken !== undefined ? [`    agent = ${quote(input.agentToken)}`] : []),
  ];
  return [
    'acl {',
    '  enabled = true',
    `  default_policy = ${quote(input.defaultPolicy)}`,
    '  enable_token_persistence = false',
    ...(tokens.length > 0 ? ['  tokens {', ...tokens, '  }'] : []),
    '}',
  ];
}
