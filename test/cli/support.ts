/**
 * Spawns the `consulkit` CLI as a user would (`node --import tsx src/cli/main.ts …`) against
 * the shared test agent, for test/cli tests.
 */
import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach } from 'vitest';
import { sharedConsulAddress } from '../support/consul.js';
import { killIfRunning, spawnTs, type TsChild } from '../support/child-process.js';

/** The CLI's entry point, run through tsx. */
export const CLI = 'src/cli/main.ts';

/** Environment for a CLI process: the shared agent through CONSUL_HTTP_ADDR, as users set it. */
export function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { CONSUL_HTTP_ADDR: sharedConsulAddress(), CONSULKIT_LOG_LEVEL: 'info', ...extra };
}

/** Children started by a test file, SIGKILLed after each test if still running. */
const started: { child: ChildProcess; exited: Promise<unknown> }[] = [];
const commandPids = new Set<number>();
afterEach(async () => {
  await Promise.all(started.splice(0).map((child) => killIfRunning(child)));
  for (const pid of commandPids) {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  commandPids.clear();
});

/**
 * A command for the CLI to run: prints `RUNNING <pid> <tag>` and sleeps (bounded, in case a
 * test dies before cleaning up). Use {@link runningPids} to find and clean up its processes.
 */
export function sleeper(tag = '', seconds = 120): string[] {
  return ['sh', '-c', `echo "RUNNING $$ ${tag}"; exec sleep ${seconds}`];
}

/** Pids announced by {@link sleeper} commands in a CLI's stdout; they are killed after the test. */
export function runningPids(child: TsChild): number[] {
  const pids = child.lines
    .filter((line) => line.startsWith('RUNNING '))
    .map((line) => Number(line.split(' ')[1]));
  for (const pid of pids) commandPids.add(pid);
  return pids;
}

/** Starts `consulkit <args>`; killed after the test if still running. */
export function cli(args: string[], env: Record<string, string> = {}): TsChild {
  const child = spawnTs(CLI, cliEnv(env), args);
  started.push(child);
  return child;
}

/** Runs `consulkit <args>` to its end: exit code, stdout and stderr. */
export async function cliResult(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = cli(args, env);
  const { code } = await child.exited;
  // Let the last chunks of the pipes arrive after the exit event.
  await Promise.all([
    child.child.stdout?.closed ? undefined : once(child.child.stdout!, 'close'),
    child.child.stderr?.closed ? undefined : once(child.child.stderr!, 'close'),
  ]);
  return { code, stdout: child.lines.join('\n'), stderr: child.stderr.join('') };
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
