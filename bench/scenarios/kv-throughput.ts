/**
 * KV get throughput at concurrency 1 and 32: consulkit against a raw undici `Pool` loop (what
 * an HTTP client on undici's `request()` costs), a raw loop on undici's lower-level
 * `dispatch` (the floor, and the way consulkit itself reads), and the `consul` npm package.
 */
import ConsulNpm from 'consul';
import { Pool, type Dispatcher } from 'undici';
import { Consul } from '../../src/index.js';
import type { BenchContext, BenchRow, BenchScenario, ScenarioResult } from '../types.js';
import { measureThroughput, percentile, type ThroughputCell } from '../support/measure.js';

const WARMUP_MS = 200;
const MEASURE_MS = 1000;
/** Rounds per cell; subjects take turns within a round, so drift (JIT, agent GC) hits all alike. The median is kept. */
const ROUNDS = 7;
/** Warm-up passes per subject at concurrency 32, so every subject is JIT-compiled before any cell counts. */
const WARMUP_PASSES = 2;
const CONCURRENCIES = [1, 32] as const;
/** Same connection count for consulkit (its default) and the raw pool, so only the client differs. */
const CONNECTIONS = 16;

type Get = () => Promise<unknown>;

/**
 * The least a `dispatch` caller can do for a JSON answer: collect the chunks, parse them.
 * (undici's first handler interface, the one its connections call directly.)
 */
function dispatchJson(pool: Pool, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let status = 0;
    const chunks: Buffer[] = [];
    const handler: Dispatcher.DispatchHandler = {
      onConnect: () => undefined,
      onHeaders: (statusCode) => {
        status = statusCode;
        return true;
      },
      onData: (chunk) => {
        chunks.push(chunk);
        return true;
      },
      onComplete: () => {
        if (status !== 200) reject(new Error(`status ${status}`));
        else resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      },
      onError: reject,
    };
    pool.dispatch({ method: 'GET', path }, handler);
  });
}
type Measurement = ThroughputCell;

/** Runs `concurrency` workers calling `get`; returns throughput and client CPU per get. */
function throughput(get: Get, concurrency: number): Promise<Measurement> {
  return measureThroughput(get, concurrency, { warmupMs: WARMUP_MS, measureMs: MEASURE_MS });
}

export const kvThroughput: BenchScenario = {
  id: 'kv-throughput',
  title: 'KV get throughput (ops/s, one small key, 127.0.0.1)',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const key = `${context.prefix}/throughput`;
    // Same connection count as the raw pool: the scenario measures the read path, not pool size.
    const consul = new Consul({ address: context.address, env: {}, connections: CONNECTIONS });
    const pool = new Pool(context.address, { connections: CONNECTIONS });
    const npm = new ConsulNpm({ host: context.host, port: context.port });
    try {
      await consul.kv.put(key, 'a small value, as a config flag would be');
      const subjects: [string, Get][] = [
        ['consulkit', () => consul.kv.get(key)],
        // The same read asking for the response metadata too (parsed only when asked for).
        ['consulkit .withMeta()', () => consul.kv.get(key).withMeta()],
        [
          'raw undici Pool',
          async () => {
            const { statusCode, body } = await pool.request({ method: 'GET', path: `/v1/kv/${key}` });
            const parsed: unknown = JSON.parse(await body.text());
            if (statusCode !== 200) throw new Error(`status ${statusCode}`);
            return parsed;
          },
        ],
        ['raw undici dispatch', () => dispatchJson(pool, `/v1/kv/${key}`)],
        ['consul (npm)', () => npm.kv.get(key)],
      ];
      context.log('kv-throughput: warm-up');
      for (let pass = 0; pass < WARMUP_PASSES; pass++)
        for (const [, get] of subjects) await throughput(get, 32);
      const samples = new Map<string, Record<number, Measurement[]>>(
        subjects.map(([name]) => [name, { 1: [], 32: [] }]),
      );
      for (const concurrency of CONCURRENCIES) {
        for (let round = 0; round < ROUNDS; round++) {
          context.log(`kv-throughput: @${concurrency} round ${round + 1}/${ROUNDS}`);
          // Rotate who goes first, so no subject always runs right after another's load.
          const order = subjects.map((_, i) => subjects[(i + round) % subjects.length] as [string, Get]);
          for (const [name, get] of order)
            samples.get(name)?.[concurrency]?.push(await throughput(get, concurrency));
        }
      }
      const median = (cells: Measurement[] | undefined, field: keyof Measurement): number =>
        percentile(
          (cells ?? []).map((cell) => cell[field]),
          0.5,
        ) ?? Number.NaN;
      const results = new Map<string, Record<number, number>>(
        [...samples].map(([name, byConcurrency]) => [
          name,
          Object.fromEntries(CONCURRENCIES.map((c) => [c, median(byConcurrency[c], 'opsPerSec')])),
        ]),
      );
      const cpuResults = new Map<string, Record<number, number>>(
        [...samples].map(([name, byConcurrency]) => [
          name,
          Object.fromEntries(CONCURRENCIES.map((c) => [c, median(byConcurrency[c], 'cpuUsPerOp')])),
        ]),
      );
      const rows: BenchRow[] = [...results].map(([subject, row]) => ({
        subject,
        values: Object.fromEntries([
          ...CONCURRENCIES.map((c) => [`ops/s @${c}`, row[c] ?? null]),
          ...CONCURRENCIES.map((c) => [`client CPU µs/get @${c}`, cpuResults.get(subject)?.[c] ?? null]),
        ]),
      }));
      const ours = results.get('consulkit') ?? {};
      const oursWithMeta = results.get('consulkit .withMeta()') ?? {};
      const raw = results.get('raw undici Pool') ?? {};
      const theirs = results.get('consul (npm)') ?? {};
      const rawDispatch = results.get('raw undici dispatch') ?? {};
      const oursCpu = cpuResults.get('consulkit') ?? {};
      const rawCpu = cpuResults.get('raw undici Pool') ?? {};
      const rawDispatchCpu = cpuResults.get('raw undici dispatch') ?? {};
      const ratio = (a: number | undefined, b: number | undefined): number =>
        a !== undefined && b ? a / b : Number.NaN;
      const ratios: Record<string, number> = {};
      for (const c of CONCURRENCIES) {
        ratios[`consulkit / raw undici @${c}`] = ratio(ours[c], raw[c]);
        ratios[`consulkit .withMeta() / raw undici @${c}`] = ratio(oursWithMeta[c], raw[c]);
        ratios[`consulkit / consul npm @${c}`] = ratio(ours[c], theirs[c]);
        ratios[`client CPU per get, consulkit / raw undici @${c}`] = ratio(oursCpu[c], rawCpu[c]);
        // What consulkit's own work (options, exact uint64, base64, metadata) costs over the floor.
        ratios[`consulkit / raw undici dispatch @${c}`] = ratio(ours[c], rawDispatch[c]);
        ratios[`client CPU per get, consulkit / raw undici dispatch @${c}`] = ratio(
          oursCpu[c],
          rawDispatchCpu[c],
        );
      }
      // The same ratios taken within each round (the two subjects measured seconds apart),
      // shown round by round: the spread says how much of a difference between two runs is
      // the machine rather than the client.
      const pairedRatios = (field: keyof Measurement): number[] => {
        const oursCells = samples.get('consulkit')?.[32] ?? [];
        const rawCells = samples.get('raw undici Pool')?.[32] ?? [];
        return oursCells.map((cell, round) => cell[field] / (rawCells[round]?.[field] ?? Number.NaN));
      };
      const pairedOps = pairedRatios('opsPerSec');
      const pairedCpu = pairedRatios('cpuUsPerOp');
      ratios['per-round consulkit / raw undici @32, median'] = percentile(pairedOps, 0.5) ?? Number.NaN;
      ratios['per-round client CPU per get, consulkit / raw undici @32, median'] =
        percentile(pairedCpu, 0.5) ?? Number.NaN;
      const vsRaw = ratios['consulkit / raw undici @32'] ?? Number.NaN;
      const vsNpm = ratios['consulkit / consul npm @32'] ?? Number.NaN;
      const cpuVsRaw = ratios['client CPU per get, consulkit / raw undici @32'] ?? Number.NaN;
      return {
        rows,
        ratios,
        goals: [
          {
            goal: 'kv get ≥ 0.95× raw undici at concurrency 32',
            met: vsRaw >= 0.95,
            actual: `${vsRaw.toFixed(2)}×`,
          },
          {
            goal: 'client CPU per get ≤ 1.05× raw undici at concurrency 32',
            met: cpuVsRaw <= 1.05,
            actual: `${cpuVsRaw.toFixed(2)}×`,
          },
          {
            goal: 'kv get ≥ 1.5× consul npm at concurrency 32',
            met: vsNpm >= 1.5,
            actual: `${vsNpm.toFixed(2)}×`,
          },
        ],
        notes: [
          `median of ${ROUNDS} interleaved rounds (after ${WARMUP_PASSES} warm-up passes) of ${MEASURE_MS} ms per cell; consulkit and the raw pool both use ${CONNECTIONS} connections`,
          'the raw loops only parse the JSON; consulkit also keeps uint64 fields exact and decodes the base64 value',
          "'raw undici Pool' (request() and body.text()) is the baseline of the goals; consulkit reads through dispatch, so 'raw undici dispatch' is the floor of its own read path",
          `@32 round by round, consulkit / raw undici: ops ${pairedOps.map((r) => r.toFixed(2)).join(', ')}; ` +
            `client CPU per get ${pairedCpu.map((r) => r.toFixed(2)).join(', ')}`,
        ],
      };
    } finally {
      await consul.close();
      await pool.close();
      npm.destroy();
    }
  },
};
