import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ClosedError, ConsulUnavailableError, TimeoutError } from '../../src/errors.js';
import {
  firstRegistration,
  type FirstRegistrationParts,
} from '../../src/primitives/registration/registration-start.js';
import type { HealthEvaluator } from '../../src/primitives/registration/health-evaluator.js';
import type { RegistrationCalls } from '../../src/primitives/registration/registration-calls.js';

/**
 * Start-loop calls whose first register fails as an unreachable agent does, and whose later
 * registers hang until the signal of their call options aborts: a call in flight on an agent
 * that never answers (or transport retries that outlast startTimeout).
 */
function callsThatHang() {
  const stop = new AbortController();
  let bound: AbortSignal | undefined;
  const seen: { registers: number; cutSignals: number; boundAfter: AbortSignal | undefined } = {
    registers: 0,
    cutSignals: 0,
    boundAfter: undefined,
  };
  const unreachable = new ConsulUnavailableError(
    'PUT /v1/agent/service/register: cannot reach Consul (ECONNREFUSED)',
  );
  const calls = {
    boundStart(signal: AbortSignal | undefined) {
      bound = signal === undefined ? undefined : AbortSignal.any([stop.signal, signal]);
      if (signal === undefined) seen.boundAfter = bound;
    },
    register() {
      seen.registers++;
      if (seen.registers === 1) return Promise.reject(unreachable);
      const signal = bound ?? stop.signal;
      return new Promise<void>((_, reject) =>
        signal.addEventListener('abort', () => {
          seen.cutSignals++;
          reject(signal.reason as Error);
        }),
      );
    },
    heartbeat: () => Promise.resolve(),
  } as unknown as RegistrationCalls;
  const parts = (startTimeoutMs: number | undefined): FirstRegistrationParts => ({
    calls,
    health: {
      evaluate: () => Promise.resolve({ status: 'passing', note: '' }),
    } as unknown as HealthEvaluator,
    logger: pino({ level: 'silent' }),
    serviceId: 'web-1',
    startTimeoutMs,
    stopRequested: stop.signal,
    throwIfStopping: () => {
      if (stop.signal.aborted) throw new ClosedError();
    },
  });
  return { parts, seen, stop, unreachable };
}

describe('firstRegistration', () => {
  it('cuts a call in flight when startTimeout runs out, with the last unreachable failure as the cause', async () => {
    const { parts, seen, unreachable } = callsThatHang();
    const error = await firstRegistration(parts(700)).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).cause).toBe(unreachable);
    expect((error as Error).message).toContain('within 700 ms to register web-1');
    expect(seen.registers).toBe(2);
    expect(seen.cutSignals).toBe(1);
    // The calls after the start are bound by stop alone again.
    expect(seen.boundAfter).toBeUndefined();
  });

  it('without startTimeout, a hanging call ends only by stop', async () => {
    const { parts, seen, stop } = callsThatHang();
    const pending = firstRegistration(parts(undefined));
    const outcome = await Promise.race([
      pending.then(
        () => 'settled',
        () => 'settled',
      ),
      new Promise((resolve) => setTimeout(() => resolve('pending'), 1_500)),
    ]);
    expect(outcome).toBe('pending');
    expect(seen.registers).toBe(2);
    stop.abort(new ClosedError());
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
  });

  it('a start that succeeds leaves no deadline timer behind, however long startTimeout is', async () => {
    const stop = new AbortController();
    let boundDuringStart: AbortSignal | undefined | 'unset' = 'unset';
    let boundAfter: AbortSignal | undefined | 'unset' = 'unset';
    const calls = {
      boundStart(signal: AbortSignal | undefined) {
        if (boundDuringStart === 'unset') boundDuringStart = signal;
        else boundAfter = signal;
      },
      register: () => Promise.resolve(),
      heartbeat: () => Promise.resolve(),
    } as unknown as RegistrationCalls;
    const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    await firstRegistration({
      calls,
      health: {
        evaluate: () => Promise.resolve({ status: 'passing', note: '' }),
      } as unknown as HealthEvaluator,
      logger: pino({ level: 'silent' }),
      serviceId: 'web-1',
      startTimeoutMs: 600_000,
      stopRequested: stop.signal,
      throwIfStopping: () => undefined,
    });
    expect(boundDuringStart).toBeInstanceOf(AbortSignal);
    expect(boundAfter).toBeUndefined();
    expect(timers()).toBe(before);
  });
});
