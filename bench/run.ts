/**
 * `npm run bench`: starts one throwaway Consul agent, runs every scenario of
 * `bench/scenarios/index.ts` against it side by side, prints a table per scenario and writes
 * everything to `bench/results/latest.json`. Load goes only to 127.0.0.1.
 *
 *   npm run bench                       # everything
 *   npm run bench -- --only fanout,idle # a subset, by scenario id
 *
 * These are benchmarks, not tests: nothing here fails on a slow number; goals are reported.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startConsul, type ConsulInstance } from '../src/testing/index.js';
import { scenarios } from './scenarios/index.js';
import { formatResult } from './support/table.js';
import type { BenchContext, BenchScenario, ScenarioResult } from './types.js';

/** The `consul` npm package opens one connection per watch; the fan-out scenario needs more than Consul's default 200. */
const HTTP_MAX_CONNS_PER_CLIENT = 5000;

function selected(argv: readonly string[]): readonly BenchScenario[] {
  const flag = argv.indexOf('--only');
  if (flag === -1) return scenarios;
  const ids = (argv[flag + 1] ?? '').split(',').filter(Boolean);
  const unknown = ids.filter((id) => !scenarios.some((scenario) => scenario.id === id));
  if (ids.length === 0 || unknown.length > 0) {
    throw new Error(
      `--only takes scenario ids among: ${scenarios.map((scenario) => scenario.id).join(', ')}`,
    );
  }
  return scenarios.filter((scenario) => ids.includes(scenario.id));
}

async function main(): Promise<void> {
  const chosen = selected(process.argv.slice(2));
  const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
  const startedAt = new Date();
  let agentLine = '';
  const agent: ConsulInstance = await startConsul({
    // A container's published port goes through Docker's userland proxy, which dominated and
    // blurred the numbers (it measured 2-5× slower and noisier); a local agent process keeps
    // only the clients under test in the path. CONSULKIT_BACKEND still chooses, when set.
    ...(process.env['CONSULKIT_BACKEND'] ? {} : { backend: 'binary' as const }),
    httpMaxConnsPerClient: HTTP_MAX_CONNS_PER_CLIENT,
    log: (line) => {
      agentLine = line;
      log(line);
    },
  });
  const results: { id: string; title: string; result?: ScenarioResult; error?: string; seconds: number }[] =
    [];
  try {
    const url = new URL(agent.address);
    const context: BenchContext = {
      agent,
      address: agent.address,
      host: url.hostname,
      port: Number(url.port),
      prefix: `bench/${randomBytes(4).toString('hex')}`,
      log,
    };
    for (const scenario of chosen) {
      const began = performance.now();
      log(`${scenario.id}: start`);
      try {
        const result = await scenario.run(context);
        const seconds = (performance.now() - began) / 1000;
        results.push({ id: scenario.id, title: scenario.title, result, seconds });
        process.stdout.write(`\n${formatResult(scenario.title, result)}\n`);
      } catch (error) {
        const seconds = (performance.now() - began) / 1000;
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        results.push({ id: scenario.id, title: scenario.title, error: message, seconds });
        process.stdout.write(`\n## ${scenario.title}\n  FAILED: ${message}\n`);
      }
    }
  } finally {
    await agent.stop();
  }
  const report = {
    startedAt: startedAt.toISOString(),
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: totalmem() / 2 ** 30,
    },
    agent: {
      backend: agent.backend,
      description: agentLine,
      httpMaxConnsPerClient: HTTP_MAX_CONNS_PER_CLIENT,
    },
    scenarios: results,
  };
  const file = fileURLToPath(new URL('./results/latest.json', import.meta.url));
  await mkdir(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  const goals = results.flatMap((entry) => entry.result?.goals ?? []);
  process.stdout.write(
    `\n${goals.filter((goal) => goal.met).length}/${goals.length} goals met; ${results.filter((entry) => entry.error).length} scenario(s) failed; ` +
      `${report.seconds.toFixed(0)} s; results in bench/results/latest.json\n`,
  );
  if (results.some((entry) => entry.error)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
