/**
 * The nemesis test in CI: a short, fixed-seed run on a real 3-server, 2-client cluster.
 * It must inject faults and see holds of every primitive (so it cannot pass vacuously),
 * and the checker must find no overlap and no fencing violation.
 */
import { describe, expect, it } from 'vitest';
import { formatReport, runChaos } from './run-chaos.js';

describe('nemesis', () => {
  it('locks, a limit-2 semaphore and an election stay safe under crashes, freezes, lost state, partitions and delays (seed 7, 75 s)', async () => {
    const report = await runChaos({ seed: 7, durationMs: 75_000 });
    const summary = formatReport(report);
    process.stderr.write(summary + '\n');
    expect(report.faults.length, summary).toBeGreaterThanOrEqual(3);
    for (const figures of Object.values(report.check.perPrimitive))
      expect(figures.holds, summary).toBeGreaterThan(0);
    expect(report.check.overlaps, summary).toEqual([]);
    expect(report.check.fencingViolations, summary).toEqual([]);
  }, 240_000);
});
