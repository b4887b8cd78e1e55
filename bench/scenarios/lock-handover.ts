/**
 * Lock handover latency: from the holder calling `release()` to the next holder's
 * `acquire()` resolving, with every contender on its own client (as separate processes would
 * be). The waiter is already parked in its blocking read when the release happens, so this
 * measures release write → watch wake-up → acquire transaction.
 */
import { Consul } from '../../src/index.js';
import type { Lock } from '../../src/index.js';
import type { BenchContext, BenchRow, BenchScenario, ScenarioResult } from '../types.js';
import { percentile, sleep } from '../support/measure.js';

const HANDOVERS = 200;
/** How long each holder keeps the lock; above the watch's 20 ms pacing, as real work would be. */
const HOLD_MS = 30;

/** Passes the lock around `locks` in turn and returns the handover times, in ms. */
async function handovers(locks: Lock[], count: number): Promise<number[]> {
  const samples: number[] = [];
  let holder = 0;
  await (locks[0] as Lock).acquire();
  for (let i = 0; i < count; i++) {
    const next = (holder + 1) % locks.length;
    const waiting = (locks[next] as Lock).acquire();
    await sleep(HOLD_MS);
    const releasedAt = performance.now();
    let acquiredAt = 0;
    const acquired = waiting.then(() => {
      acquiredAt = performance.now();
    });
    await (locks[holder] as Lock).release();
    await acquired;
    samples.push(acquiredAt - releasedAt);
    holder = next;
  }
  await (locks[holder] as Lock).release();
  return samples;
}

function row(subject: string, samples: number[]): BenchRow {
  return {
    subject,
    values: {
      handovers: samples.length,
      'p50 ms': percentile(samples, 0.5),
      'p99 ms': percentile(samples, 0.99),
      'max ms': percentile(samples, 1),
    },
  };
}

export const lockHandover: BenchScenario = {
  id: 'lock-handover',
  title: `Lock handover latency (release → next holder acquired; ${HOLD_MS} ms holds)`,
  async run(context: BenchContext): Promise<ScenarioResult> {
    const clients = Array.from({ length: 2 }, () => new Consul({ address: context.address, env: {} }));
    try {
      const key = `${context.prefix}/handover/.lock`;
      const locks = clients.map((consul) => consul.lock(key, { ttl: '15s' }));
      context.log('lock-handover: warm-up');
      await handovers(locks, 20);
      context.log(`lock-handover: ${HANDOVERS} handovers between 2 clients`);
      const samples = await handovers(locks, HANDOVERS);
      const p50 = percentile(samples, 0.5) ?? Number.POSITIVE_INFINITY;
      const p99 = percentile(samples, 0.99) ?? Number.POSITIVE_INFINITY;
      return {
        rows: [row('consulkit lock, 2 clients', samples)],
        goals: [
          { goal: 'handover p50 ≤ 10 ms', met: p50 <= 10, actual: `${p50.toFixed(1)} ms` },
          { goal: 'handover p99 ≤ 50 ms', met: p99 <= 50, actual: `${p99.toFixed(1)} ms` },
        ],
        notes: [
          'A release writes the key (no lock-delay applies to a release); the waiter, parked in a blocking read, wakes and acquires with one transaction.',
        ],
      };
    } finally {
      await Promise.all(clients.map((consul) => consul.close()));
    }
  },
};
