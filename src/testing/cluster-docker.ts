/**
 * The docker CLI as the container backend of `startCluster` drives it: one call per step,
 * with a timeout and Docker's own message in every error, plus the sweep of networks and
 * containers left behind by test processes that died without stopping their cluster.
 */
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Label naming the process that owns a cluster's containers and network: `host/pid`. */
export const CLUSTER_OWNER_LABEL = 'org.consulkit.cluster-owner';

/** This process's value of {@link CLUSTER_OWNER_LABEL}. */
export function clusterOwner(): string {
  return `${hostname()}/${process.pid}`;
}

/** A docker CLI call that failed, with Docker's message. */
export class DockerCommandError extends Error {
  override readonly name = 'DockerCommandError';
  /** What Docker wrote on stderr. */
  readonly stderr: string;

  constructor(args: readonly string[], stderr: string, cause: unknown) {
    super(`docker ${args.slice(0, 3).join(' ')} failed: ${stderr.trim() || (cause as Error).message}`, {
      cause,
    });
    this.stderr = stderr;
  }
}

/** Runs `docker ...args` and resolves to its trimmed stdout. */
export async function docker(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync('docker', [...args], { timeout: timeoutMs, maxBuffer: 1 << 22 });
    return stdout.trim();
  } catch (error) {
    throw new DockerCommandError(args, (error as { stderr?: string }).stderr ?? '', error);
  }
}

/**
 * The host name of the engine as `DOCKER_HOST` gives it: `localhost` for a local socket
 * (unset, `unix://`, `npipe://`), the host part of a `tcp://` or `ssh://` address otherwise.
 */
export function dockerHostName(dockerHost: string | undefined = process.env['DOCKER_HOST']): string {
  if (dockerHost === undefined || dockerHost === '' || /^(unix|npipe):/.test(dockerHost)) return 'localhost';
  try {
    return new URL(dockerHost).hostname || 'localhost';
  } catch {
    return 'localhost';
  }
}

/**
 * Owners (values of {@link CLUSTER_OWNER_LABEL}) whose process is gone: on this host, a pid
 * that no longer runs. Owners on other hosts sharing the engine are never judged.
 */
export function staleOwners(owners: Iterable<string>, alive: (pid: number) => boolean): Set<string> {
  const stale = new Set<string>();
  const me = hostname();
  for (const owner of owners) {
    const slash = owner.lastIndexOf('/');
    if (slash < 0 || owner.slice(0, slash) !== me) continue;
    const pid = Number(owner.slice(slash + 1));
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) stale.add(owner);
  }
  return stale;
}

/** `id owner` lines of `docker ps`/`docker network ls` output, split. */
function labelled(output: string): { id: string; owner: string }[] {
  return output
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts) => parts.length === 2)
    .map(([id, owner]) => ({ id: id!, owner: owner! }));
}

/**
 * Removes the containers, then the networks, of clusters whose owning process died without
 * stopping them. Returns how many of each were removed.
 */
export async function sweepStaleClusterResources(
  alive: (pid: number) => boolean,
): Promise<{ containers: number; networks: number }> {
  const format = `{{.ID}} {{.Label "${CLUSTER_OWNER_LABEL}"}}`;
  const containers = labelled(
    await docker(['ps', '-a', '--filter', `label=${CLUSTER_OWNER_LABEL}`, '--format', format]),
  );
  const networks = labelled(
    await docker(['network', 'ls', '--filter', `label=${CLUSTER_OWNER_LABEL}`, '--format', format]),
  );
  const stale = staleOwners(
    [...containers, ...networks].map((entry) => entry.owner),
    alive,
  );
  const deadContainers = containers.filter((entry) => stale.has(entry.owner)).map((entry) => entry.id);
  const deadNetworks = networks.filter((entry) => stale.has(entry.owner)).map((entry) => entry.id);
  if (deadContainers.length > 0) await docker(['rm', '-f', '-v', ...deadContainers]);
  if (deadNetworks.length > 0) await docker(['network', 'rm', ...deadNetworks]);
  return { containers: deadContainers.length, networks: deadNetworks.length };
}
