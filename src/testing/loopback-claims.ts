/**
 * Claims loopback addresses (127.0.1.2, 127.0.1.3, ...) for cluster nodes, one per node.
 *
 * Linux routes all of 127.0.0.0/8 to `lo`, so every such address is bindable; what must be
 * unique is the address itself, because network faults are firewall rules keyed on it. A
 * claim is a file named after the address holding the claiming process's pid, created with
 * O_EXCL, so clusters started by parallel test workers never share an address. A claim
 * whose pid no longer runs is stale and taken over.
 */
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackExitHook } from './cleanup.js';

const CLAIM_DIR = join(tmpdir(), 'consulkit-loopback-claims');

/** Whether a process with this pid exists (EPERM still means it exists). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The n-th candidate address (n ≥ 0): 127.0.1.2 … 127.0.1.254, then 127.0.2.2 …. */
export function candidateAddress(n: number): string {
  const perBlock = 253;
  const block = 1 + Math.floor(n / perBlock);
  if (block > 254) throw new Error('consulkit/testing: no free loopback address left');
  return `127.0.${block}.${2 + (n % perBlock)}`;
}

function tryClaim(path: string): boolean {
  try {
    const fd = openSync(path, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  let owner = NaN;
  try {
    owner = Number(readFileSync(path, 'utf8').trim());
  } catch {
    // vanished between open and read: try once more below
  }
  if (pidAlive(owner)) return false;
  rmSync(path, { force: true });
  try {
    const fd = openSync(path, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch {
    return false; // another process took it over first
  }
}

/** A claimed address; `release()` is idempotent and also runs on process exit. */
export interface LoopbackClaim {
  readonly address: string;
  release(): void;
}

/** Claims `count` distinct loopback addresses not held by any live process. */
export function claimLoopbackAddresses(count: number): LoopbackClaim[] {
  mkdirSync(CLAIM_DIR, { recursive: true });
  const claims: LoopbackClaim[] = [];
  for (let n = 0; claims.length < count; n++) {
    const address = candidateAddress(n);
    const path = join(CLAIM_DIR, address);
    if (!tryClaim(path)) continue;
    let released = false;
    const forget = trackExitHook(() => rmSync(path, { force: true }));
    claims.push({
      address,
      release() {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
        forget();
      },
    });
  }
  return claims;
}
