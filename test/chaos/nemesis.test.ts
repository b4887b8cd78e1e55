/**
 * The nemesis test in CI: a short, fixed-seed run on a real 3-server, 2-client cluster.
 * It must inject faults and see holds of every primitive (so it cannot pass vacuously),
 * and the checker must find no overlap and no fencing violation. A second, shorter run on
 * the same cluster uses a deliberately unsafe lock setup and must be caught: proof that the
 * pipeline (contenders' own view, nemesis, checker) can see an overlap when there is one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../../src/testing/index.js';
import { startCluster } from '../../src/testing/index.js';
import { formatReport, runChaos, UNSAFE_PROFILE } from './run-chaos.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({
    servers: 3,
    clients: 2,
    log: (line) => process.stderr.write(`[chaos] ${line}\n`),
  });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('nemesis', () => {
  it('locks, a limit-2 semaphore and an election stay safe under crashes, freezes, lost state, partitions and delays (seed 7, 75 s)', async () => {
    const report = await runChaos({ seed: 7, durationMs: 75_000, cluster });
    const summary = formatReport(report);
    process.stderr.write(summary + '\n');
    expect(report.faults.length, summary).toBeGreaterThanOrEqual(3);
    for (const figures of Object.values(report.check.perPrimitive))
      expect(figures.holds, summary).toBeGreaterThan(0);
    expect(report.check.overlaps, summary).toEqual([]);
    expect(report.check.fencingViolations, summary).toEqual([]);
  }, 240_000);

  it('catches an unsafe setup: serfHealth-bound locks without lock-delay, a holder node frozen (seed 11, 30 s)', async () => {
    const report = await runChaos({ seed: 11, durationMs: 30_000, cluster, profile: UNSAFE_PROFILE });
    const summary = formatReport(report);
    process.stderr.write(summary + '\n');
    const frozenHolders = report.faults.filter(
      (fault) => fault.kind === 'freeze-holder' && !fault.detail.includes('no holder'),
    );
    expect(frozenHolders.length, summary).toBeGreaterThanOrEqual(1);
    expect(report.check.overlaps.length, summary).toBeGreaterThan(0);
    // The overlap is the frozen holder (it gave up late, by its TTL) and the other contender.
    const overlap = report.check.overlaps[0]!;
    expect(overlap.primitive).toBe('lock');
    expect(new Set(overlap.holders.map((hold) => hold.node)).size, summary).toBe(2);
    expect(
      overlap.holders.some((hold) => frozenHolders.some((fault) => fault.node === hold.node)),
      summary,
    ).toBe(true);
  }, 120_000);
});
