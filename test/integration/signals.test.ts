/**
 * SIGTERM with a registered service, next to every usual way an application handles the
 * signal: none, `process.on`, `process.once`, signal-exit and close-with-grace, each
 * installed before and after registering. Each child process runs against the shared real
 * agent; each case checks that the service is deregistered AND that the process ends the way
 * it would have without consulkit, after the application's own shutdown finished.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Consul } from '../../src/index.js';
import { sharedConsulAddress } from '../support/consul.js';
import { killIfRunning, spawnTs, type TsChild } from '../support/child-process.js';
import { waitFor } from '../support/wait.js';
import { instanceIds, timing, uniqueServiceName } from '../fixtures/registration-helpers.js';

const fixture = 'test/fixtures/registration-signals-child.ts';
let consul: Consul;
const children: TsChild[] = [];

beforeAll(() => {
  consul = new Consul({ address: sharedConsulAddress() });
});

afterEach(async () => {
  await Promise.all(children.splice(0).map(killIfRunning));
});

afterAll(async () => {
  await consul.close();
});

type Mode = 'none' | 'on' | 'once' | 'signal-exit' | 'close-with-grace';

interface Expected {
  exit: { code: number | null; signal: NodeJS.Signals | null };
  /** Lines the child must have printed, in this order. */
  lines: string[];
}

const expectations: Record<Mode, Expected> = {
  none: { exit: { code: null, signal: 'SIGTERM' }, lines: ['DEREGISTERED'] },
  on: { exit: { code: 7, signal: null }, lines: ['SHUTDOWN START', 'SHUTDOWN DONE'] },
  once: { exit: { code: 7, signal: null }, lines: ['SHUTDOWN START', 'SHUTDOWN DONE'] },
  'signal-exit': { exit: { code: null, signal: 'SIGTERM' }, lines: ['DEREGISTERED', 'EXIT HOOK SIGTERM'] },
  'close-with-grace': { exit: { code: 0, signal: null }, lines: ['SHUTDOWN START', 'SHUTDOWN DONE'] },
};

async function runCase(mode: Mode, order: 'before' | 'after'): Promise<void> {
  const name = uniqueServiceName(`sig-${mode}-${order}`);
  const child = spawnTs(fixture, {
    CONSUL_HTTP_ADDR: sharedConsulAddress(),
    SERVICE_NAME: name,
    MODE: mode,
    ORDER: order,
  });
  children.push(child);
  const id = (await child.line('READY ', 60_000)).slice('READY '.length);
  expect(await instanceIds(consul, name)).toEqual([id]);

  const signalled = performance.now();
  child.child.kill('SIGTERM');
  // A generous bound that only catches a process that never exits (signal-exit and consulkit
  // each waiting for the other did exactly that).
  const exit = await Promise.race([
    child.exited,
    new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000).unref()),
  ]);
  const exitedMs = performance.now() - signalled;
  expect(exit, `stdout: ${child.lines.join(' | ')}; stderr: ${child.stderr.join('').slice(-1000)}`).toEqual(
    expectations[mode].exit,
  );
  const { lines } = expectations[mode];
  const positions = lines.map((line) => child.lines.indexOf(line));
  expect(
    positions.every((position) => position >= 0),
    `stdout: ${child.lines.join(' | ')}`,
  ).toBe(true);
  expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  expect(child.lines).toContain('DEREGISTERED');
  expect(await consul.agent.service.get(id)).toBeUndefined();
  timing(`SIGTERM with ${mode} installed ${order} registering → exited after ${exitedMs.toFixed(0)} ms`);
}

describe('SIGTERM with a registered service', () => {
  for (const mode of Object.keys(expectations) as Mode[]) {
    for (const order of ['before', 'after'] as const) {
      if (mode === 'none' && order === 'after') continue;
      it(`${mode} installed ${order} registering: deregistered, and the process exits as it would have`, async () => {
        await runCase(mode, order);
      }, 60_000);
    }
  }
});

describe('a second SIGTERM during the drain', () => {
  it('with signal-exit loaded, ends the process at once through signal-exit', async () => {
    const name = uniqueServiceName('sig-second');
    const child = spawnTs(fixture, {
      CONSUL_HTTP_ADDR: sharedConsulAddress(),
      SERVICE_NAME: name,
      MODE: 'signal-exit',
      ORDER: 'before',
      DRAIN_DELAY: '20s',
    });
    children.push(child);
    const id = (await child.line('READY ', 60_000)).slice('READY '.length);
    try {
      child.child.kill('SIGTERM');
      await waitFor('critical while draining', async () => {
        const checks = await consul.agent.check.list();
        return checks[`service:${id}:ttl`]?.Status === 'critical';
      });
      expect(child.child.exitCode).toBeNull();
      const second = performance.now();
      child.child.kill('SIGTERM');
      expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
      // Well before the 20 s drain would have ended.
      expect(performance.now() - second).toBeLessThan(10_000);
      expect(child.lines).toContain('EXIT HOOK SIGTERM');
      expect(child.lines).not.toContain('DEREGISTERED');
    } finally {
      await consul.agent.service.deregister(id);
    }
  }, 60_000);
});
