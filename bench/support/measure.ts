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

/** One throughput cell: completed calls per second of wall time, and this process's CPU per call. */
export interface ThroughputCell {
  /** Completed calls per second of wall time. */
  opsPerSec: number;
  /**
   * This process's CPU time (user + system) per completed call, in µs. The agent shares the
   * machine's cores, so wall-time throughput moves with its load; the client's own CPU cost
   * per call moves much less and shows what the client itself adds.
   */
  cpuUsPerOp: number;
}

/**
 * Runs `concurrency` workers calling `call` in a loop: `warmupMs` uncounted, then `measureMs`
 * counted. Returns throughput and CPU per call (NaN when no call completed).
 */
export async function measureThroughput(
  call: () => Promise<unknown>,
  concurrency: number,
  { warmupMs, measureMs }: { warmupMs: number; measureMs: number },
): Promise<ThroughputCell> {
  let counting = false;
  let stop = false;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (!stop) {
      await call();
      if (counting) done++;
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await sleep(warmupMs);
  counting = true;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await sleep(measureMs);
  counting = false;
  const cpu = process.cpuUsage(cpuBefore);
  const elapsed = performance.now() - started;
  stop = true;
  await Promise.all(workers);
  return {
    opsPerSec: (done / elapsed) * 1000,
    cpuUsPerOp: done === 0 ? Number.NaN : (cpu.user + cpu.system) / done,
  };
}
