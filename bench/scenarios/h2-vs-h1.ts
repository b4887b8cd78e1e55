/**
 * HTTP/1.1 against HTTP/2 on Consul's HTTPS listener, with raw undici (no consulkit code in
 * the path), to decide which protocol each consulkit pool should speak:
 * - short requests (KV get of a small key) at concurrency 1 and 32: h1 with 16 connections
 *   against h2 multiplexed over 1 connection (and over 4);
 * - long polls: 600 distinct blocking reads at once over h2, to see how many connections
 *   they take with a per-connection stream cap under Go's 250, and that all of them answer.
 *
 * The agent is started here with TLS and Consul's default limits.
 */
import { Pool } from 'undici';
import { startConsul } from '../../src/testing/index.js';
import type { BenchContext, BenchRow, BenchScenario, ScenarioResult } from '../types.js';
import { connectionsFrom } from '../support/host-clients.js';
import { measureThroughput, percentile, sleep, waitFor, type ThroughputCell } from '../support/measure.js';

const MEASURE_MS = 1000;
const WARMUP_MS = 300;
const ROUNDS = 5;
const CONCURRENCIES = [1, 32] as const;
/** Long polls sent at once over h2, more than two connections' worth of streams. */
const LONG_POLLS = 600;
/** Streams per h2 connection, under the 250 a Go h2 server allows by default. */
const STREAMS_PER_CONNECTION = 200;

type Cell = ThroughputCell;

function throughput(get: () => Promise<unknown>, concurrency: number): Promise<Cell> {
  return measureThroughput(get, concurrency, { warmupMs: WARMUP_MS, measureMs: MEASURE_MS });
}

function getter(pool: Pool, path: string): () => Promise<unknown> {
  return async () => {
    const { statusCode, body } = await pool.request({ method: 'GET', path });
    const parsed: unknown = JSON.parse(await body.text());
    if (statusCode !== 200) throw new Error(`status ${statusCode}`);
    return parsed;
  };
}

export const h2VsH1: BenchScenario = {
  id: 'h2-vs-h1',
  title: 'HTTPS: HTTP/1.1 vs HTTP/2 with raw undici (short KV gets; long polls over h2)',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const agent = await startConsul({
      ...(process.env['CONSULKIT_BACKEND'] ? {} : { backend: 'binary' as const }),
      tls: true,
      log: () => undefined,
    });
    const connect = { ca: agent.ca ?? '', servername: agent.tlsServerName ?? '' };
    const port = agent.ports.https ?? Number.NaN;
    const pools: [string, Pool][] = [
      ['h1, 16 connections', new Pool(agent.address, { connections: 16, connect })],
      [
        'h2, 1 connection',
        new Pool(agent.address, {
          connections: 1,
          allowH2: true,
          pipelining: STREAMS_PER_CONNECTION,
          connect,
        }),
      ],
      [
        'h2, 4 connections',
        new Pool(agent.address, {
          connections: 4,
          allowH2: true,
          pipelining: STREAMS_PER_CONNECTION,
          connect,
        }),
      ],
    ];
    try {
      const key = `${context.prefix}/h2`;
      const put = await pools[0]![1].request({ method: 'PUT', path: `/v1/kv/${key}`, body: 'small value' });
      await put.body.text();
      const samples = new Map<string, Record<number, Cell[]>>(
        pools.map(([name]) => [name, { 1: [], 32: [] }]),
      );
      for (const [, pool] of pools) await throughput(getter(pool, `/v1/kv/${key}`), 32);
      for (const concurrency of CONCURRENCIES) {
        for (let round = 0; round < ROUNDS; round++) {
          context.log(`h2-vs-h1: @${concurrency} round ${round + 1}/${ROUNDS}`);
          const order = pools.map((_, i) => pools[(i + round) % pools.length]!);
          for (const [name, pool] of order)
            samples
              .get(name)
              ?.[concurrency]?.push(await throughput(getter(pool, `/v1/kv/${key}`), concurrency));
        }
      }
      const median = (cells: Cell[] | undefined, field: keyof Cell): number =>
        percentile(
          (cells ?? []).map((cell) => cell[field]),
          0.5,
        ) ?? Number.NaN;
      const rows: BenchRow[] = pools.map(([name]) => ({
        subject: name,
        values: Object.fromEntries([
          ...CONCURRENCIES.map((c) => [`ops/s @${c}`, median(samples.get(name)?.[c], 'opsPerSec')]),
          ...CONCURRENCIES.map((c) => [
            `client CPU µs/get @${c}`,
            median(samples.get(name)?.[c], 'cpuUsPerOp'),
          ]),
        ]),
      }));

      // Long polls: LONG_POLLS distinct keys, each blocked on at its current index.
      context.log(`h2-vs-h1: ${LONG_POLLS} long polls over h2`);
      const before = await connectionsFrom(port);
      const longPool = new Pool(agent.address, {
        connections: 8,
        allowH2: true,
        pipelining: STREAMS_PER_CONNECTION,
        connect,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      let answered = 0;
      let failed = 0;
      const index = await (async () => {
        const response = await longPool.request({ method: 'GET', path: `/v1/kv/${key}` });
        await response.body.text();
        return String(response.headers['x-consul-index']);
      })();
      const polls = Array.from({ length: LONG_POLLS }, (_, i) =>
        longPool
          .request({ method: 'GET', path: `/v1/kv/${key}-poll-${i}?index=${index}&wait=20s` })
          .then(async (response) => {
            await response.body.text();
            answered++;
          })
          .catch(() => void failed++),
      );
      await sleep(2000);
      const during = await connectionsFrom(port);
      // Consul holds each poll until its wait passes (nothing changes those keys).
      await waitFor(() => answered + failed === LONG_POLLS, 40_000);
      await Promise.allSettled(polls);
      await longPool.destroy();
      const h1c32 = median(samples.get('h1, 16 connections')?.[32], 'opsPerSec');
      const h2c32 = median(samples.get('h2, 4 connections')?.[32], 'opsPerSec');
      const h2one32 = median(samples.get('h2, 1 connection')?.[32], 'opsPerSec');
      return {
        rows: [
          ...rows,
          {
            subject: `h2 long polls (${STREAMS_PER_CONNECTION} streams/conn)`,
            values: {
              polls: LONG_POLLS,
              connections: during === null || before === null ? null : during - before,
              answered: `${answered}/${LONG_POLLS}`,
              failed,
            },
          },
        ],
        ratios: {
          'h2 (4 conns) / h1 (16 conns) ops @32': h2c32 / h1c32,
          'h2 (1 conn) / h1 (16 conns) ops @32': h2one32 / h1c32,
          'h2 (1 conn) / h1 ops @1':
            median(samples.get('h2, 1 connection')?.[1], 'opsPerSec') /
            median(samples.get('h1, 16 connections')?.[1], 'opsPerSec'),
        },
        notes: [
          `median of ${ROUNDS} interleaved rounds of ${MEASURE_MS} ms per cell; raw undici, JSON.parse only`,
          `long polls: ${LONG_POLLS} distinct keys blocked at once (wait 20s) over an h2 pool of up to 8 connections with ${STREAMS_PER_CONNECTION} streams each`,
        ],
      };
    } finally {
      await Promise.all(pools.map(([, pool]) => pool.destroy()));
      await agent.stop();
    }
  },
};
