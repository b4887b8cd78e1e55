/**
 * Readiness checks used after every start and restart.
 *
 * "Ready" means the HTTP API answers `/v1/status/leader` with a non-empty leader, i.e. the
 * dev server has elected itself and can serve writes; with ACLs it additionally means the
 * master token resolves, because the leader creates it a moment after winning the election
 * and an early request with it would otherwise get a spurious 403.
 */

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Options for {@link waitUntilReady}. */
export interface WaitUntilReadyOptions {
  /** Plain-HTTP base address, e.g. `http://127.0.0.1:8500`. */
  httpAddress: string;
  /** ACL master token to check, when ACLs are on. */
  token?: string | undefined;
  timeoutMs?: number;
  /** Returns a reason when the agent is known to be dead, to fail fast instead of waiting. */
  deadReason?: () => string | undefined;
}

async function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(2_000) });
  return { status: response.status, body: await response.text() };
}

/** Polls until the agent is ready; throws with the last observation on timeout. */
export async function waitUntilReady(options: WaitUntilReadyOptions): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last = 'no answer yet';
  let leaderSeen = false;
  while (Date.now() < deadline) {
    const dead = options.deadReason?.();
    if (dead !== undefined) throw new Error(dead);
    try {
      if (!leaderSeen) {
        const leader = await get(`${options.httpAddress}/v1/status/leader`, {});
        last = `/v1/status/leader → ${leader.status} ${leader.body.trim()}`;
        leaderSeen = leader.status === 200 && leader.body.trim() !== '' && leader.body.trim() !== '""';
      }
      if (leaderSeen) {
        if (options.token === undefined) return;
        const self = await get(`${options.httpAddress}/v1/acl/token/self`, {
          'X-Consul-Token': options.token,
        });
        last = `/v1/acl/token/self → ${self.status} ${self.body.trim().slice(0, 200)}`;
        if (self.status === 200) return;
      }
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`Consul at ${options.httpAddress} not ready in time (last: ${last})`);
}

/** The agent's own version string from `/v1/agent/self` (e.g. "1.8.7"), or "unknown". */
export async function agentVersion(httpAddress: string, token?: string): Promise<string> {
  try {
    const headers: Record<string, string> = token === undefined ? {} : { 'X-Consul-Token': token };
    const response = await fetch(`${httpAddress}/v1/agent/self`, {
      headers,
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) return 'unknown';
    const self = (await response.json()) as { Config?: { Version?: string } };
    return self.Config?.Version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
