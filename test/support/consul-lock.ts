/**
 * Consul's own `consul lock` (the real binary) holding a prefix, for tests of interoperation
 * with consulkit's lock, semaphore and CLI. Every one still running after a test is SIGKILLed
 * with its child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach } from 'vitest';
import { findConsulBinary } from '../../src/testing/index.js';
import { sharedConsulAddress } from './consul.js';
import { waitFor } from './wait.js';

const running = new Set<ConsulLock>();
afterEach(async () => {
  await Promise.all([...running].map((lock) => lock.kill()));
});

/** A `consul lock` process whose child prints LOCKED once it runs (that is, once held), then sleeps. */
export class ConsulLock {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** Resolves with `consul lock`'s exit code (`null` when a signal ended it). */
  readonly exited: Promise<number | null>;

  /** Starts `consul lock [extra…] <prefix>` against the shared agent. */
  static async start(prefix: string, extra: readonly string[] = []): Promise<ConsulLock> {
    return new ConsulLock(await findConsulBinary(), prefix, extra);
  }

  private constructor(bin: string, prefix: string, extra: readonly string[]) {
    this.child = spawn(
      bin,
      [
        'lock',
        `-http-addr=${sharedConsulAddress()}`,
        '-shell=false',
        ...extra,
        prefix,
        'sh',
        '-c',
        'echo LOCKED; exec sleep 600',
      ],
      // Its own process group, so that cleanup can kill its child with it.
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
    running.add(this);
    const forget = (): boolean => running.delete(this);
    // A failed spawn rejects `exited`; whoever awaits it sees the error, this only forgets it.
    void this.exited.then(forget, forget);
  }

  /** Whether its child has started, that is, whether it has held the lock. */
  get locked(): boolean {
    return this.stdout.includes('LOCKED');
  }

  /** Resolves once it holds; the bound only catches a hang. */
  waitLocked(timeoutMs = 20_000): Promise<true> {
    return waitFor(`consul lock to hold (stderr: ${this.stderr})`, () => this.locked, timeoutMs);
  }

  /** Graceful stop: `consul lock` stops its child, releases (no lock-delay) and exits with its code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** For cleanup: SIGKILL to the whole process group (`consul lock` and its child). */
  async kill(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
    await this.exited;
  }
}
