/**
 * The scenarios `npm run bench` runs, in order. To add one (lock handover, election
 * failover…), write a module exporting a `BenchScenario` (see `bench/types.ts`) and append it
 * here; `npm run bench -- --only <id>[,<id>]` runs a subset.
 */
import type { BenchScenario } from '../types.js';
import { distinctKeys } from './distinct-keys.js';
import { fanout } from './fanout.js';
import { h2VsH1 } from './h2-vs-h1.js';
import { idleCost } from './idle.js';
import { kvThroughput } from './kv-throughput.js';
import { lockFailover } from './lock-failover.js';
import { lockHandover } from './lock-handover.js';
import { observabilityOverhead } from './observability-overhead.js';
import { watchBudget } from './watch-budget.js';

export const scenarios: readonly BenchScenario[] = [
  kvThroughput,
  fanout,
  distinctKeys,
  idleCost,
  lockHandover,
  lockFailover,
  watchBudget,
  h2VsH1,
  observabilityOverhead,
];
