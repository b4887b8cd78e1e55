/**
 * Many distinct queries: 150 keys, each watched once and changed once. HTTP/1.1 long polls
 * cannot share a connection, so one loop per key would need 150 connections; the watcher
 * reads keys of one folder with one recursive folder read once loops outnumber its blocking
 * slots, and the scenario reports the loops and folder reads it really ran.
 */
import { Consul } from '../../src/index.js';
import type { BenchContext, BenchScenario, ScenarioResult } from '../types.js';
import { connectionsTo, percentile, sleep, waitFor } from '../support/measure.js';

const KEYS = 150;

export const distinctKeys: BenchScenario = {
  id: 'distinct-keys',
  title: `${KEYS} distinct watched keys, one change each`,
  async run(context: BenchContext): Promise<ScenarioResult> {
    const writer = new Consul({ address: context.address, env: {} });
    const consul = new Consul({ address: context.address, env: {} });
    try {
      const keys = Array.from({ length: KEYS }, (_, i) => `${context.prefix}/distinct/${i}`);
      await Promise.all(keys.map((key) => writer.kv.put(key, 'before')));
      const baseline = await connectionsTo(context.port);
      const startedAt: number[] = [];
      const latencies: number[] = [];
      const notified = new Uint8Array(KEYS);
      const watches = keys.map((key, i) => {
        const watch = consul.watch.key(key);
        watch.on('change', (entry) => {
          if (entry === undefined || String(entry.Value) !== 'after' || notified[i]) return;
          notified[i] = 1;
          const t0 = startedAt[i];
          if (t0 !== undefined) latencies.push(performance.now() - t0);
        });
        return watch;
      });
      await Promise.all(watches.map((watch) => watch.ready()));
      await sleep(300);
      const held = await connectionsTo(context.port);
      const engine = consul.watch.stats();
      context.log(`distinct-keys: changing ${KEYS} keys`);
      for (let i = 0; i < KEYS; i++) {
        startedAt[i] = performance.now();
        await writer.kv.put(keys[i] ?? '', 'after');
      }
      await waitFor(() => notified.every((flag) => flag === 1), 10_000);
      const count = notified.reduce((sum, flag) => sum + flag, 0);
      const connections = held === null || baseline === null ? null : held - baseline;
      await Promise.all(watches.map((watch) => watch.close()));
      return {
        rows: [
          {
            subject: 'consulkit',
            values: {
              keys: KEYS,
              loops: engine.loops,
              'folder reads': engine.coalescedGroups,
              'connections (ss)': connections,
              notified: `${count}/${KEYS}`,
              'p50 ms': percentile(latencies, 0.5),
              'p99 ms': percentile(latencies, 0.99),
              'max ms': percentile(latencies, 1),
            },
          },
        ],
        goals: [{ goal: 'all 150 keys notified', met: count === KEYS, actual: `${count}/${KEYS}` }],
        notes: [
          'loops and folder reads: consul.watch.stats() once every watch was ready; the 150 keys share one folder, so once they outnumber the blocking slots one recursive folder read serves them all (each watch still sees only its own key)',
          'connections (ss) also counts the idle keep-alive connections of the client pool for ordinary requests, which served the first, non-blocking reads',
          'the keys are written one after another; latency runs from just before each PUT to the notification',
        ],
      };
    } finally {
      await consul.close();
      await writer.close();
    }
  },
};
