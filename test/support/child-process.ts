/**
 * Child processes running a TypeScript fixture (test/fixtures/*.ts) through tsx, with their
 * stdout kept as lines, for tests that need a second process: one to SIGKILL, or one whose
 * signals are its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

/** Repository root; fixtures are spawned with it as working directory. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A child process running a TypeScript file, with its stdout kept as lines. */
export interface TsChild {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly stderr: string[];
  /** Resolves with the first line starting with `prefix` (after `from` lines). */
  line(prefix: string, timeoutMs?: number, from?: number): Promise<string>;
  /** Resolves when the process exited, with its code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `node --import tsx <file>` (node itself, so that signals reach the script's process). */
export function spawnTs(file: string, env: Record<string, string>, args: string[] = []): TsChild {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return {
    child,
    lines,
    stderr,
    exited,
    line: async (prefix, timeoutMs = 30_000, from = 0) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = lines.slice(from).find((line) => line.startsWith(prefix));
        if (found !== undefined) return found;
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(
            `child exited (${child.exitCode ?? child.signalCode}) before printing ${prefix}: ${stderr.join('').slice(-2000)}`,
          );
        }
        if (performance.now() > deadline) {
          throw new Error(
            `no line starting with ${prefix} within ${timeoutMs} ms: ${stderr.join('').slice(-2000)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** SIGKILLs a child that is still running, for afterEach/finally. */
export async function killIfRunning(
  child: { child: ChildProcess; exited: Promise<unknown> } | undefined,
): Promise<void> {
  if (!child || child.child.exitCode !== null || child.child.signalCode !== null) return;
  child.child.kill('SIGKILL');
  await child.exited;
}

/**
 * A list for the children a test file spawns: any still running after a test is SIGKILLed.
 * Call it at the top level of the file (it registers an `afterEach`).
 */
export function childrenKilledAfterEach(): TsChild[] {
  const children: TsChild[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => killIfRunning(child)));
  });
  return children;
}
