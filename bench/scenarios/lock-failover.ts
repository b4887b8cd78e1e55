/**
 * Lock failover after the holder crashes: a separate holder process is SIGKILLed while a
 * waiter in this process waits; measured from the kill to the waiter's `acquire()`
 * resolving. With the defaults the session must expire (1–2 × TTL 15 s) and then the
 * lock-delay (15 s) must pass; with FAST_FAILOVER the heartbeat check turns critical after
 * 2 s and the lock-delay is 1 s.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Consul } from '../../src/index.js';
import type { BenchContext, BenchRow, BenchScenario, ScenarioResult } from '../types.js';
import { percentile } from '../support/measure.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOLDER = 'test/fixtures/lock-holder.ts';
const FAST_RUNS = 5;
const DEFAULT_RUNS = 1;

/** Starts a holder process, waits until it holds `key`, SIGKILLs it, and times the takeover. */
async function failoverOnce(
  context: BenchContext,
  key: string,
  env: Record<string, string>,
): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER], {
    cwd: ROOT,
    env: {
      ...process.env,
      CONSUL_HTTP_ADDR: context.address,
      LOCK_KEY: key,
      CONSULKIT_LOG_LEVEL: 'error',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const waiterClient = new Consul({ address: context.address, env: {} });
  try {
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('ACQUIRED')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`holder exited (${code}) before acquiring`)));
    });
    const waiter = waiterClient.lock(key, { ttl: '15s', lockDelay: 0 });
    const pending = waiter.acquire({ timeout: 120_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const killedAt = performance.now();
    child.kill('SIGKILL');
    await pending;
    const took = performance.now() - killedAt;
    await waiter.release();
    return took;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await waiterClient.close();
  }
}

function row(subject: string, samples: number[]): BenchRow {
  return {
    subject,
    values: {
      runs: samples.length,
      'p50 s': (percentile(samples, 0.5) ?? 0) / 1000,
      'max s': (percentile(samples, 1) ?? 0) / 1000,
    },
  };
}

export const lockFailover: BenchScenario = {
  id: 'lock-failover',
  title: 'Lock failover after SIGKILL of the holder process (kill → next holder acquired)',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const fast: number[] = [];
    for (let run = 0; run < FAST_RUNS; run++) {
      context.log(`lock-failover: FAST_FAILOVER run ${run + 1}/${FAST_RUNS}`);
      fast.push(await failoverOnce(context, `${context.prefix}/failover-fast-${run}/.lock`, { FAST: '1' }));
    }
    const defaults: number[] = [];
    for (let run = 0; run < DEFAULT_RUNS; run++) {
      context.log(`lock-failover: defaults run ${run + 1}/${DEFAULT_RUNS} (up to ~45 s)`);
      defaults.push(await failoverOnce(context, `${context.prefix}/failover-default-${run}/.lock`, {}));
    }
    const fastMax = percentile(fast, 1) ?? Number.POSITIVE_INFINITY;
    const defaultMax = percentile(defaults, 1) ?? Number.POSITIVE_INFINITY;
    return {
      rows: [
        row('FAST_FAILOVER (2 s heartbeat check, 1 s lock-delay)', fast),
        row('defaults (TTL 15 s, lock-delay 15 s)', defaults),
      ],
      goals: [
        {
          goal: 'failover ≤ 5 s with FAST_FAILOVER',
          met: fastMax <= 5_000,
          actual: `${(fastMax / 1000).toFixed(2)} s`,
        },
        {
          goal: 'failover ≤ 2 × TTL + lock-delay + 2 s wake-up (47 s) with the defaults',
          met: defaultMax <= 47_000,
          actual: `${(defaultMax / 1000).toFixed(1)} s`,
        },
      ],
      notes: [
        'Defaults: Consul may invalidate a TTL session up to 2× its TTL after the last renewal (1.8 does so at 2×), then the lock-delay runs; the waiter retries through the lock-delay with a backoff capped at 1 s.',
      ],
    };
  },
};
