/**
 * Last-resort cleanup of agents when the test process ends without stopping them.
 *
 * The Testcontainers reaper (Ryuk) is disabled because its image cannot be pulled on the
 * machines this project runs on, and a spawned consul process is not tied to its parent's
 * lifetime. So this module remembers every live child process, container and temp folder
 * and removes them synchronously on process exit and on SIGINT/SIGTERM/SIGHUP.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { PASSIVE_SIGNAL_LISTENER } from '../primitives/registration/termination-signals.js';

const children = new Set<ChildProcess>();
const containers = new Set<string>();
const dirs = new Set<string>();
const hooks = new Set<() => void>();
let installed = false;

function cleanupNow(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  if (containers.size > 0) {
    // Synchronous on purpose: nothing asynchronous runs once 'exit' fires.
    spawnSync('docker', ['rm', '-f', '-v', ...containers], { stdio: 'ignore', timeout: 20_000 });
    containers.clear();
  }
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  dirs.clear();
  // Hooks undo host-wide changes (firewall rules, address claims, cgroups): they must run
  // even when a test process dies with a cluster still isolated.
  for (const hook of hooks) {
    try {
      hook();
    } catch {
      // best effort: one failing hook must not keep the others from running
    }
  }
  hooks.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = Object.assign(
      (): void => {
        cleanupNow();
        // If nobody else handles the signal, restore the default action (terminate) by
        // re-raising it now that our once-listener is gone; otherwise leave it to them
        // (a consulkit registration, for one, re-raises after it has deregistered).
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      },
      // Marked passive so that a registration's listener still sees itself as the only one.
      { [PASSIVE_SIGNAL_LISTENER]: true },
    );
    process.once(signal, onSignal);
  }
}

/** Tracks a spawned agent process until {@link untrackChild}. */
export function trackChild(child: ChildProcess): void {
  install();
  children.add(child);
}

/** Forgets a process that has exited. */
export function untrackChild(child: ChildProcess): void {
  children.delete(child);
}

/** Tracks a container id until {@link untrackContainer}. */
export function trackContainer(id: string): void {
  install();
  containers.add(id);
}

/** Forgets a container that has been removed. */
export function untrackContainer(id: string): void {
  containers.delete(id);
}

/** Tracks a temp folder until {@link untrackDir}. */
export function trackDir(dir: string): void {
  install();
  dirs.add(dir);
}

/** Forgets a temp folder that has been removed. */
export function untrackDir(dir: string): void {
  dirs.delete(dir);
}

/**
 * Registers a synchronous undo step to run on process exit or a terminating signal; the
 * returned function forgets it (call it once the step has been done normally).
 */
export function trackExitHook(hook: () => void): () => void {
  install();
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
  };
}
