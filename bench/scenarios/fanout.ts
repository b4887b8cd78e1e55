/**
 * Fan-out: many subscribers to one key, a series of changes. Measures the connections the
 * subscribers hold and the change→notify latency seen by every subscriber (from just before
 * the write is sent to the moment the subscriber's listener runs). That latency is split in
 * two: until the first subscriber of a change is notified (the write, the agent waking the
 * long poll, the answer's decoding: one read, whatever the subscribers), and from the first to
 * the last subscriber (the fan-out inside the client, which grows with the subscribers).
 */
import ConsulNpm from 'consul';
import { Consul } from '../../src/index.js';
import type { BenchContext, BenchRow, BenchScenario, ScenarioResult } from '../types.js';
import { connectionsTo, percentile, sleep, waitFor } from '../support/measure.js';

const CHANGES = 40;
/** Pause after every subscriber saw a change, so changes never overlap in the measurement. */
const GAP_MS = 150;
const NOTIFY_TIMEOUT_MS = 5000;

/** A group of subscribers under test, whatever the library. */
interface Subscribers {
  /** Highest sequence number each subscriber has seen. */
  readonly seen: Int32Array;
  /** Connections to the agent as the library itself counts them, when it can. */
  libraryConnections(): number | null;
  /** Requests in flight (long polls) as the library counts them, when it can. */
  longPolls(): number | null;
  close(): Promise<void>;
}

interface FanoutMeasurement {
  subscribers: number;
  connections: number | null;
  libraryConnections: number | null;
  longPolls: number | null;
  notified: number;
  expected: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  /** Per change: from just before the write to the first subscriber notified. */
  firstP50: number | null;
  firstP99: number | null;
  /** Per change: from the first subscriber notified to the last. */
  fanoutP50: number | null;
  fanoutP99: number | null;
}

function sequenceOf(value: string | undefined): number {
  return value?.startsWith('v') ? Number(value.slice(1)) : -1;
}

/**
 * Subscribes `count` watchers with `subscribe`, then makes one warm-up change (not counted:
 * the first notification after subscribing runs cold code) and {@link CHANGES} measured
 * ones, recording every subscriber's notify latency.
 */
async function measure(
  context: BenchContext,
  writer: Consul,
  key: string,
  count: number,
  subscribe: (onValue: (subscriber: number, value: string | undefined) => void) => Subscribers,
): Promise<FanoutMeasurement> {
  await writer.kv.put(key, 'v0');
  const baseline = await connectionsTo(context.port);
  const startedAt: number[] = [];
  const latencies: number[] = [];
  const firstAt: number[] = [];
  const lastAt: number[] = [];
  const subscribers = subscribe((subscriber, value) => {
    const sequence = sequenceOf(value);
    const seen = subscribers.seen;
    if (sequence <= (seen[subscriber] ?? -1)) return;
    seen[subscriber] = sequence;
    const t0 = startedAt[sequence];
    if (t0 === undefined) return;
    const now = performance.now();
    latencies.push(now - t0);
    firstAt[sequence] ??= now;
    lastAt[sequence] = now;
  });
  try {
    subscribers.seen.fill(-1);
    const allAt = (sequence: number): boolean => subscribers.seen.every((seen) => seen >= sequence);
    if (!(await waitFor(() => allAt(0), 30_000)))
      throw new Error('subscribers did not all get the first value');
    await sleep(300);
    const held = await connectionsTo(context.port);
    const connections = held === null || baseline === null ? null : held - baseline;
    const libraryConnections = subscribers.libraryConnections();
    const longPolls = subscribers.longPolls();
    await writer.kv.put(key, 'v1');
    await waitFor(() => allAt(1), NOTIFY_TIMEOUT_MS);
    await sleep(GAP_MS);
    let notified = 0;
    const firsts: number[] = [];
    const fanouts: number[] = [];
    for (let sequence = 2; sequence < CHANGES + 2; sequence++) {
      const t0 = performance.now();
      startedAt[sequence] = t0;
      await writer.kv.put(key, `v${sequence}`);
      await waitFor(() => allAt(sequence), NOTIFY_TIMEOUT_MS);
      notified += subscribers.seen.filter((seen) => seen >= sequence).length;
      const first = firstAt[sequence];
      const last = lastAt[sequence];
      if (first !== undefined && last !== undefined && allAt(sequence)) {
        firsts.push(first - t0);
        fanouts.push(last - first);
      }
      await sleep(GAP_MS);
    }
    return {
      subscribers: count,
      connections,
      libraryConnections,
      longPolls,
      notified,
      expected: count * CHANGES,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: percentile(latencies, 1),
      firstP50: percentile(firsts, 0.5),
      firstP99: percentile(firsts, 0.99),
      fanoutP50: percentile(fanouts, 0.5),
      fanoutP99: percentile(fanouts, 0.99),
    };
  } finally {
    await subscribers.close();
  }
}

function consulkitSubscribers(context: BenchContext, key: string, count: number) {
  return (onValue: (subscriber: number, value: string | undefined) => void): Subscribers => {
    const consul = new Consul({ address: context.address, env: {} });
    const watches = Array.from({ length: count }, (_, i) => {
      const watch = consul.watch.key(key);
      watch.on('change', (entry) => onValue(i, entry === undefined ? undefined : String(entry.Value)));
      return watch;
    });
    return {
      seen: new Int32Array(count),
      libraryConnections: () => consul.stats().connections,
      longPolls: () => consul.stats().running,
      close: async () => {
        await Promise.all(watches.map((watch) => watch.close()));
        await consul.close();
      },
    };
  };
}

function npmSubscribers(context: BenchContext, key: string, count: number) {
  return (onValue: (subscriber: number, value: string | undefined) => void): Subscribers => {
    const npm = new ConsulNpm({ host: context.host, port: context.port });
    const watches = Array.from({ length: count }, (_, i) => {
      const watch = npm.watch({ method: npm.kv.get, options: { key } });
      watch.on('change', (data: { Value?: string | null } | undefined) =>
        onValue(i, data?.Value ?? undefined),
      );
      watch.on('error', (error: Error) => context.log(`consul (npm) watch error: ${error.message}`));
      return watch;
    });
    return {
      seen: new Int32Array(count),
      libraryConnections: () => null,
      longPolls: () => null,
      close: async () => {
        for (const watch of watches) watch.end();
        npm.destroy();
      },
    };
  };
}

function row(subject: string, m: FanoutMeasurement): BenchRow {
  return {
    subject,
    values: {
      subscribers: m.subscribers,
      'connections (ss)': m.connections,
      'connections (client)': m.libraryConnections,
      'long polls': m.longPolls,
      notified: `${m.notified}/${m.expected}`,
      'p50 ms': m.p50,
      'p99 ms': m.p99,
      'max ms': m.max,
      'first p50 ms': m.firstP50,
      'first p99 ms': m.firstP99,
      'fan-out p50 ms': m.fanoutP50,
      'fan-out p99 ms': m.fanoutP99,
    },
  };
}

export const fanout: BenchScenario = {
  id: 'fanout',
  title: `Fan-out: subscribers to one key, ${CHANGES} changes (change→notify latency over all subscribers)`,
  async run(context: BenchContext): Promise<ScenarioResult> {
    const writer = new Consul({ address: context.address, env: {} });
    try {
      const key = `${context.prefix}/fanout`;
      context.log('fanout: consulkit × 1000');
      const ours1000 = await measure(context, writer, key, 1000, consulkitSubscribers(context, key, 1000));
      context.log('fanout: consulkit × 100');
      const ours100 = await measure(context, writer, key, 100, consulkitSubscribers(context, key, 100));
      context.log('fanout: consul (npm) × 100');
      const theirs100 = await measure(context, writer, key, 100, npmSubscribers(context, key, 100));
      const longPolls = ours1000.longPolls ?? Number.NaN;
      const p99 = ours1000.p99 ?? Number.NaN;
      return {
        rows: [row('consulkit', ours1000), row('consulkit', ours100), row('consul (npm)', theirs100)],
        ratios: {
          'consul npm / consulkit connections @100':
            (theirs100.connections ?? Number.NaN) / (ours100.connections ?? Number.NaN),
          'consul npm / consulkit p50 @100': (theirs100.p50 ?? Number.NaN) / (ours100.p50 ?? Number.NaN),
          'consul npm / consulkit p99 @100': (theirs100.p99 ?? Number.NaN) / (ours100.p99 ?? Number.NaN),
        },
        goals: [
          {
            goal: '1,000 subscribers hold 1 connection (one long poll)',
            met: longPolls === 1,
            actual: `${longPolls} long poll; ${ours1000.connections ?? '?'} TCP connections open`,
          },
          {
            goal: 'change→notify p99 ≤ 10 ms at 1,000 subscribers',
            met: p99 <= 10,
            actual: `${p99.toFixed(1)} ms`,
          },
          {
            goal: 'every subscriber notified of every change',
            met: ours1000.notified === ours1000.expected,
            actual: `${ours1000.notified}/${ours1000.expected}`,
          },
        ],
        notes: [
          "connections (ss): established TCP connections to the agent port opened by the subscribers' client (the writer excluded); " +
            'consulkit shows 2: the long poll, plus the idle keep-alive connection of its pool for ordinary requests, which the first (non-blocking) read used',
          'long polls: requests in flight as the client counts them',
          'latency runs from just before the PUT is sent to the subscriber listener, so it includes the write itself',
          'first: per change, until the first subscriber is notified (write, agent, one read and its decoding); ' +
            'fan-out: per change, from the first subscriber notified to the last (the client delivering to every subscriber); ' +
            'p99 over all subscribers is about the worst change of the 40, so a single scheduling stall of a loaded machine sets it',
        ],
      };
    } finally {
      await writer.close();
    }
  },
};
