/**
 * Measuring helpers shared by the scenarios: percentiles, connection counts, memory.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const run = promisify(execFile);

/** The `q` quantile (0..1) of `samples`, nearest-rank; `null` when there are none. */
export function percentile(samples: readonly number[], q: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? null;
}

/**
 * Established TCP connections from this host to `port` on 127.0.0.1, counted by `ss` (so it
 * sees every client library alike); `null` when `ss` is not available.
 */
export async function connectionsTo(port: number): Promise<number | null> {
  try {
    const { stdout } = await run('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`]);
    return stdout.split('\n').filter((line) => line.trim() !== '').length;
  } catch {
    return null;
  }
}

let gcFunction: (() => void) | undefined;

/** Runs a full garbage collection (enabling `gc` at run time: the bench runs without flags). */
export function collectGarbage(): void {
  if (gcFunction === undefined) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
  gcFunction();
}

/** Heap in use after a full collection, in bytes. */
export function heapAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 5 ms until it holds or `timeoutMs` passes; resolves whether it held. */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

/** Rounds for display: 3 significant digits below 100, integers above. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  return Number(value.toPrecision(3));
}
