/**
 * The contract between `bench/run.ts` and the scenario modules. A scenario measures one
 * thing against the agent the harness started and returns rows for the table, plus the goals
 * it checks. To add one, write a module exporting a {@link BenchScenario} and list it in
 * `bench/scenarios/index.ts`.
 */
import type { ConsulInstance } from '../src/testing/index.js';

/** What the harness hands each scenario. */
export interface BenchContext {
  /** The agent started for this run (plain HTTP on 127.0.0.1). */
  readonly agent: ConsulInstance;
  /** `http://127.0.0.1:PORT` of the agent. */
  readonly address: string;
  /** Host and port of the agent, for clients that take them apart (the `consul` npm package). */
  readonly host: string;
  readonly port: number;
  /** A KV prefix of this run, so scenarios do not step on each other. */
  readonly prefix: string;
  /** Progress output (stderr), so stdout keeps only the table. */
  log(line: string): void;
}

/** A cell of the table. */
export type Cell = string | number | null;

/** One line of a scenario's table: who was measured and the measurements. */
export interface BenchRow {
  /** What was measured, e.g. `consulkit` or `consul (npm)`. */
  subject: string;
  /** Column name → value. Numbers are printed rounded; `null` prints as `-`. */
  values: Record<string, Cell>;
}

/** A goal from the issue, and whether this run met it. */
export interface BenchGoal {
  /** The goal, e.g. `kv get ≥ 0.9× raw undici at concurrency 32`. */
  goal: string;
  met: boolean;
  /** The number that decided it, e.g. `0.97×`. */
  actual: string;
}

/** What a scenario returns. */
export interface ScenarioResult {
  rows: BenchRow[];
  /** Ratios worth printing under the table, e.g. `consulkit / raw undici @32`. */
  ratios?: Record<string, number>;
  goals?: BenchGoal[];
  /** Remarks printed under the table (what the numbers mean, caveats). */
  notes?: string[];
}

/** A benchmark scenario. */
export interface BenchScenario {
  /** Short id, used by `npm run bench -- --only <id>`. */
  readonly id: string;
  /** Title printed above its table. */
  readonly title: string;
  run(context: BenchContext): Promise<ScenarioResult>;
}
