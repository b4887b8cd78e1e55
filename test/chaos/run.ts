/**
 * `npm run chaos -- --seed N --duration 10m`: the nemesis test run long, outside vitest.
 * Exits 1 when the checker finds an overlap or a fencing violation.
 */
import { parseArgs } from 'node:util';
import { toMilliseconds } from '../../src/duration.js';
import { formatReport, runChaos } from './run-chaos.js';

const { values } = parseArgs({
  options: { seed: { type: 'string', default: '1' }, duration: { type: 'string', default: '2m' } },
});
const seed = Number(values.seed);
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, not ${values.seed}`);
const durationMs = toMilliseconds(values.duration, 'duration');
const report = await runChaos({ seed, durationMs });
process.stdout.write(formatReport(report) + '\n');
process.exitCode = report.check.overlaps.length + report.check.fencingViolations.length > 0 ? 1 : 0;
