/**
 * One cgroup (v2) per cluster agent process, so firewall rules can match the agent's own
 * outgoing packets (`iptables -m cgroup --path`) whatever source address the kernel picked.
 *
 * Why: Consul dials server RPC from its bind address, but memberlist's TCP state exchange
 * dials without one, so those packets leave from 127.0.0.1 and no address rule could tell
 * which agent sent them. Without a writable cgroup2 mount the harness falls back to
 * address rules and says so (see netfault.ts).
 */
import { mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

let mountCache: string | null | undefined;

/** The cgroup2 mount point, or null when there is none. */
export function cgroup2Mount(): string | null {
  if (mountCache !== undefined) return mountCache;
  mountCache = null;
  try {
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mountPoint, type] = line.split(' ');
      if (type === 'cgroup2' && mountPoint !== undefined) {
        mountCache = mountPoint;
        break;
      }
    }
  } catch {
    // not Linux, or /proc unavailable: no cgroup matching
  }
  return mountCache;
}

/** A created cgroup: `path` is relative to the cgroup2 root, as `iptables -m cgroup --path` wants it. */
export interface NodeCgroup {
  readonly path: string;
  /** Moves a process (e.g. a freshly spawned agent) into the cgroup. */
  adopt(pid: number): void;
  /** Removes the cgroup; only succeeds once no process is left in it. Idempotent. */
  remove(): void;
}

/**
 * Creates `name` under the cgroup2 root, or returns undefined when that is impossible
 * (no cgroup2 mount, not root, read-only mount); the caller then uses address rules.
 */
export function createNodeCgroup(name: string): NodeCgroup | undefined {
  const mount = cgroup2Mount();
  if (mount === null) return undefined;
  const dir = join(mount, name);
  try {
    mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  let removed = false;
  return {
    path: name,
    adopt(pid: number): void {
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    },
    remove(): void {
      if (removed) return;
      try {
        rmdirSync(dir);
        removed = true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') removed = true;
      }
    },
  };
}

/**
 * Removes empty cgroups named `<prefix><pid>-…` whose creating process no longer runs
 * (a process that exits cannot wait for its killed agents to be reaped before rmdir).
 */
export function sweepStaleCgroups(prefix: string, isAlive: (pid: number) => boolean): void {
  const mount = cgroup2Mount();
  if (mount === null) return;
  let entries: string[];
  try {
    entries = readdirSync(mount);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length).split('-')[0]);
    if (!Number.isInteger(pid) || isAlive(pid)) continue;
    try {
      rmdirSync(join(mount, entry));
    } catch {
      // still has a process in it, or already gone
    }
  }
}
