/**
 * One `consul agent` process of a binary-backend cluster: spawn, crash (SIGKILL), freeze
 * (SIGSTOP) and thaw (SIGCONT). Configuration, addresses and faults above the process
 * level belong to cluster-node.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { trackChild, untrackChild } from './cleanup.js';
import type { NodeCgroup } from './node-cgroup.js';
import { LineRing } from './ring-buffer.js';

/** How long {@link AgentProcess.freeze} waits for every thread to stop before it gives up. */
const FREEZE_SETTLE_MS = 10_000;

/** Process state as the harness drove it. */
export type ProcessState = 'running' | 'frozen' | 'killed';

/** Runs and re-runs one agent from a fixed config folder and data folder. */
export class AgentProcess {
  readonly #bin: string;
  readonly #configDir: string;
  readonly #dataDir: string;
  readonly #cgroup: NodeCgroup | undefined;
  readonly ring = new LineRing();
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #exitInfo: string | undefined;
  #state: ProcessState = 'killed';

  constructor(bin: string, configDir: string, dataDir: string, cgroup: NodeCgroup | undefined) {
    this.#bin = bin;
    this.#configDir = configDir;
    this.#dataDir = dataDir;
    this.#cgroup = cgroup;
  }

  get state(): ProcessState {
    return this.#state;
  }

  /** Why the process ended, when it ended on its own (for "did not start" errors). */
  get exitInfo(): string | undefined {
    return this.#exitInfo;
  }

  /** Spawns the agent; `wipe` empties the data folder first (state lost). */
  async spawn(wipe: boolean): Promise<void> {
    if (this.#state !== 'killed') throw new Error('consulkit/testing: agent is already running');
    if (wipe) await rm(this.#dataDir, { recursive: true, force: true });
    await mkdir(this.#dataDir, { recursive: true });
    const child = spawn(this.#bin, ['agent', '-config-dir', this.#configDir, '-data-dir', this.#dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#exitInfo = undefined;
    trackChild(child);
    child.stdout?.on('data', (chunk: Buffer) => this.ring.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.ring.push(chunk));
    this.#exited = new Promise((resolve) => {
      const done = (info: string): void => {
        untrackChild(child);
        this.#exitInfo ??= info;
        this.#state = 'killed';
        resolve();
      };
      child.once('exit', (code, signal) => done(`consul exited (code ${code}, signal ${signal})`));
      child.once('error', (error) => done(`consul could not run: ${error.message}`));
    });
    this.#state = 'running';
    // Moved before it has finished starting, so even its first packets carry the cgroup;
    // a process that died at once has no pid to move and reports its exit instead.
    if (this.#cgroup !== undefined && child.pid !== undefined) {
      try {
        this.#cgroup.adopt(child.pid);
      } catch (error) {
        if (this.#state === 'running') throw error;
      }
    }
  }

  /** SIGKILL (a frozen process dies too) and waits until it has exited. No-op when not running. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.#exited;
  }

  /**
   * SIGSTOP: the agent stops answering anything, its sockets stay open. Resolves once every
   * thread of the agent is stopped: the kernel wakes one thread to take a group stop, and the
   * others keep running until it does, so on a loaded host an agent answered a request sent
   * right after the signal.
   */
  async freeze(): Promise<void> {
    this.#signal('SIGSTOP', 'running');
    this.#state = 'frozen';
    const pid = this.#child?.pid;
    if (pid !== undefined) await waitUntilStopped(pid, FREEZE_SETTLE_MS);
  }

  /** SIGCONT after {@link freeze}. */
  thaw(): void {
    this.#signal('SIGCONT', 'frozen');
    this.#state = 'running';
  }

  #signal(signal: NodeJS.Signals, expected: ProcessState): void {
    if (this.#state !== expected) {
      throw new Error(`consulkit/testing: cannot send ${signal} to an agent that is ${this.#state}`);
    }
    this.#child?.kill(signal);
  }
}

/**
 * Waits until every thread of `pid` is in the stopped state (`T` in /proc/<pid>/task/<tid>/stat).
 * Where /proc cannot be read (not Linux) it returns at once: the signal was sent anyway.
 */
async function waitUntilStopped(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let states: string[];
    try {
      const tasks = await readdir(`/proc/${pid}/task`);
      states = await Promise.all(
        tasks.map(async (tid) => {
          // A thread that ended between the listing and the read runs no more: count it stopped.
          const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => ') T');
          // The state follows the command name, which is in parentheses and may hold spaces.
          return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        }),
      );
    } catch {
      return;
    }
    if (states.every((state) => state === 'T' || state === 't')) return;
    if (Date.now() > deadline) {
      throw new Error(`consulkit/testing: agent ${pid} did not stop within ${timeoutMs} ms of SIGSTOP`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
