import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { HealthEvaluator } from '../../src/primitives/registration/health-evaluator.js';

const silent = pino({ level: 'silent' });

describe('HealthEvaluator', () => {
  it('reports passing by default when there is no health()', async () => {
    const evaluator = new HealthEvaluator(undefined, 1_000, silent, 'svc-1');
    expect(await evaluator.evaluate()).toEqual({ status: 'passing', note: '', source: 'default' });
  });

  it('lets an override win over health() until it is cleared', async () => {
    let calls = 0;
    const evaluator = new HealthEvaluator(
      () => {
        calls++;
        return { status: 'warning', note: 'slow disk' };
      },
      1_000,
      silent,
      'svc-1',
    );
    evaluator.override = { status: 'critical', note: 'by hand' };
    expect(await evaluator.evaluate()).toEqual({ status: 'critical', note: 'by hand', source: 'override' });
    expect(calls).toBe(0);
    evaluator.override = undefined;
    expect(await evaluator.evaluate()).toEqual({ status: 'warning', note: 'slow disk', source: 'health' });
    expect(calls).toBe(1);
  });

  it('reports critical, with the reason, when health() throws or rejects', async () => {
    const throwing = new HealthEvaluator(
      () => {
        throw new Error('db down');
      },
      1_000,
      silent,
      'svc-1',
    );
    expect(await throwing.evaluate()).toEqual({
      status: 'critical',
      note: 'health() failed: db down',
      source: 'health',
    });
    const rejecting = new HealthEvaluator(
      () => Promise.reject(new Error('cache down')),
      1_000,
      silent,
      'svc-1',
    );
    expect((await rejecting.evaluate()).note).toBe('health() failed: cache down');
  });

  it('reports critical when health() does not answer within its timeout, and aborts its signal', async () => {
    let seen: AbortSignal | undefined;
    const evaluator = new HealthEvaluator(
      (signal) => {
        seen = signal;
        return new Promise(() => {});
      },
      50,
      silent,
      'svc-1',
    );
    const report = await evaluator.evaluate();
    expect(report.status).toBe('critical');
    expect(report.note).toContain('did not answer within 50 ms');
    expect(seen?.aborted).toBe(true);
  });
});
