/**
 * Idle cost: subscribers that see no change. CPU (process.cpuUsage) and heap over a quiet
 * period, and the requests sent meanwhile.
 */
import ConsulNpm from 'consul';
import { Consul } from '../../src/index.js';
import type { BenchContext, BenchRow, BenchScenario, ScenarioResult } from '../types.js';
import { heapAfterGc, sleep, waitFor } from '../support/measure.js';

const IDLE_MS = 5000;

interface IdleMeasurement {
  subscribers: number;
  cpuMs: number;
  heapMiB: number;
  heapPerSubscriberKiB: number;
}

/**
 * @param subscribe - sets the subscribers up and resolves to `settled` (called once they are
 *   idle, before the quiet period) and `close`
 */
async function idle(
  count: number,
  subscribe: () => Promise<{ settled(): void; close(): Promise<void> }>,
): Promise<IdleMeasurement> {
  const before = heapAfterGc();
  const { settled, close } = await subscribe();
  try {
    await sleep(300);
    settled();
    const heap = heapAfterGc() - before;
    const cpu = process.cpuUsage();
    await sleep(IDLE_MS);
    const used = process.cpuUsage(cpu);
    return {
      subscribers: count,
      cpuMs: (used.user + used.system) / 1000,
      heapMiB: heap / 1024 / 1024,
      heapPerSubscriberKiB: heap / 1024 / count,
    };
  } finally {
    await close();
  }
}

function row(subject: string, m: IdleMeasurement, extra: Record<string, number | null> = {}): BenchRow {
  return {
    subject,
    values: {
      subscribers: m.subscribers,
      [`CPU ms / ${IDLE_MS / 1000} s`]: m.cpuMs,
      'heap MiB': m.heapMiB,
      'heap KiB / subscriber': m.heapPerSubscriberKiB,
      ...extra,
    },
  };
}

export const idleCost: BenchScenario = {
  id: 'idle',
  title: `Idle cost: subscribers and no changes for ${IDLE_MS / 1000} s`,
  async run(context: BenchContext): Promise<ScenarioResult> {
    const key = `${context.prefix}/idle`;
    const writer = new Consul({ address: context.address, env: {} });
    try {
      await writer.kv.put(key, 'quiet');
      let requests: number | null = null;
      context.log('idle: baseline (no subscribers)');
      const baseline = await idle(1, async () => ({
        settled: () => undefined,
        close: async () => undefined,
      }));
      context.log('idle: consulkit × 1000');
      const ours = await idle(1000, async () => {
        const consul = new Consul({ address: context.address, env: {} });
        const watches = Array.from({ length: 1000 }, () => consul.watch.key(key));
        await Promise.all(watches.map((watch) => watch.ready()));
        let sent = 0;
        return {
          settled: () => {
            sent = consul.stats().requests;
          },
          close: async () => {
            requests = consul.stats().requests - sent;
            await consul.close();
          },
        };
      });
      context.log('idle: consul (npm) × 100');
      const theirs = await idle(100, async () => {
        const npm = new ConsulNpm({ host: context.host, port: context.port });
        let first = 0;
        const watches = Array.from({ length: 100 }, () => {
          const watch = npm.watch({ method: npm.kv.get, options: { key } });
          watch.once('change', () => first++);
          watch.on('error', (error: Error) => context.log(`consul (npm) watch error: ${error.message}`));
          return watch;
        });
        await waitFor(() => first === 100, 30_000);
        return {
          settled: () => undefined,
          close: async () => {
            for (const watch of watches) watch.end();
            npm.destroy();
          },
        };
      });
      return {
        rows: [
          {
            subject: 'baseline (this process, no subscribers)',
            values: { [`CPU ms / ${IDLE_MS / 1000} s`]: baseline.cpuMs },
          },
          row('consulkit', ours, { 'requests while idle': requests }),
          row('consul (npm)', theirs),
        ],
        notes: [
          'heap is measured after a full GC, relative to before subscribing (includes the client itself)',
          'consulkit loops block for 1 min per read by default and the consul package for 30 s, so neither sends a request in this window',
        ],
      };
    } finally {
      await writer.close();
    }
  },
};
