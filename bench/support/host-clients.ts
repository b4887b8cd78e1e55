/**
 * The other clients of a host, for scenarios about Consul's per-client connection limit
 * (`http_max_conns_per_client`, shared by every process that reaches the agent from one IP):
 *
 * - a {@link HostWriter} that makes the changes the subject must see. It connects from
 *   127.0.0.2, another loopback address, so it plays an operator on another machine: the
 *   limit counts per source IP, and the writes must not be disturbed by the subject under test
 *   (nor disturb it);
 * - a {@link startProbe probe}: another process on the same host (a CLI, a health-check
 *   script) that opens a fresh connection from 127.0.0.1 for every request, as such tools do,
 *   and counts how many the agent refused.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client, Pool } from 'undici';
import { sleep } from './measure.js';

const run = promisify(execFile);

/** Source address of the writer: on Linux all of 127/8 reaches the loopback agent. */
export const WRITER_SOURCE = '127.0.0.2';

/**
 * Established TCP connections to `port` whose source address is `source` (default
 * 127.0.0.1), counted by `ss`; `null` when `ss` is not available.
 */
export async function connectionsFrom(port: number, source = '127.0.0.1'): Promise<number | null> {
  try {
    const { stdout } = await run('ss', [
      '-Htn',
      'state',
      'established',
      `( dport = :${port} and src ${source} )`,
    ]);
    return stdout.split('\n').filter((line) => line.trim() !== '').length;
  } catch {
    return null;
  }
}

/** Writes to the agent over plain HTTP from {@link WRITER_SOURCE}, outside the subject's budget. */
export class HostWriter {
  readonly #pool: Pool;
  /** Requests that failed and were retried. */
  failures = 0;

  constructor(httpAddress: string, connections = 8) {
    this.#pool = new Pool(httpAddress, {
      connections,
      localAddress: WRITER_SOURCE,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
  }

  /** PUT with a JSON or raw body; retried (bounded) on failure, so a change is never lost. */
  async put(path: string, body: string | undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.#pool.request({ method: 'PUT', path, body: body ?? null });
        const text = await response.body.text();
        if (response.statusCode === 200) return;
        throw new Error(`PUT ${path}: ${response.statusCode} ${text.slice(0, 200)}`);
      } catch (error) {
        this.failures++;
        if (attempt >= 5) throw error;
        await sleep(100 * attempt);
      }
    }
  }

  /** Runs `task` over `items` with `concurrency` workers. */
  static async each<T>(
    items: readonly T[],
    concurrency: number,
    task: (item: T, i: number) => Promise<void>,
  ): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const i = next++;
        await task(items[i] as T, i);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** What the probe saw. */
export interface ProbeResult {
  requests: number;
  failed: number;
  /** The first few failure messages, for the notes. */
  samples: string[];
}

/** A running probe. */
export interface Probe {
  /** Requests started so far (the loop keeps running). */
  readonly requests: number;
  /** Stops the loop; resolves once the request in flight has finished. */
  stop(): Promise<ProbeResult>;
}

/**
 * Another client on the host: a PUT every `intervalMs` on a fresh connection from 127.0.0.1,
 * with a 3 s bound per request, at most `maxRequests` of them.
 */
export function startProbe(httpAddress: string, path: string, intervalMs = 200, maxRequests = 1500): Probe {
  const result: ProbeResult = { requests: 0, failed: 0, samples: [] };
  let stopped = false;
  const loop = (async () => {
    while (!stopped && result.requests < maxRequests) {
      const began = performance.now();
      result.requests++;
      const client = new Client(httpAddress, {
        localAddress: '127.0.0.1',
        connectTimeout: 3000,
        headersTimeout: 3000,
        bodyTimeout: 3000,
      });
      try {
        const response = await client.request({ method: 'PUT', path, body: String(result.requests) });
        const text = await response.body.text();
        if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${text.slice(0, 80)}`);
      } catch (error) {
        result.failed++;
        if (result.samples.length < 3)
          result.samples.push(error instanceof Error ? error.message : String(error));
      } finally {
        await client.destroy();
      }
      await sleep(Math.max(0, intervalMs - (performance.now() - began)));
    }
  })();
  return {
    get requests() {
      return result.requests;
    },
    async stop() {
      stopped = true;
      await loop;
      return result;
    },
  };
}
