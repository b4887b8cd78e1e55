import { describe, expect, it } from 'vitest';
import { H2_STREAMS_PER_CONNECTION, resolveBudget, resolveConfig } from '../../src/config.js';
import { ValidationError } from '../../src/errors.js';

describe('connection budget options', () => {
  it('defaults: 8 short + 24 blocking = 32 over plain HTTP; 4 short + 2 h2 connections over HTTPS', () => {
    expect(resolveBudget({}, false)).toEqual({
      connections: 8,
      blockingConnections: 24,
      blockingH2: false,
      blockingSlots: 24,
      connectionBudget: 32,
    });
    expect(resolveBudget({}, true)).toEqual({
      connections: 4,
      blockingConnections: 2,
      blockingH2: true,
      blockingSlots: 2 * H2_STREAMS_PER_CONNECTION,
      connectionBudget: 6,
    });
    expect(H2_STREAMS_PER_CONNECTION).toBeLessThan(250);
  });

  it('splits a given budget: the blocking pool gets what the short pool leaves', () => {
    expect(resolveBudget({ connectionBudget: 12, connections: 4 }, false)).toMatchObject({
      blockingConnections: 8,
      blockingSlots: 8,
    });
    // Only the pools given: the budget is their sum.
    expect(resolveBudget({ connections: 16, blockingConnections: 16 }, false).connectionBudget).toBe(32);
  });

  it('rejects pools beyond the budget, a budget beyond the agent limit, and non-positive counts', () => {
    expect(() =>
      resolveBudget({ connectionBudget: 10, connections: 8, blockingConnections: 8 }, false),
    ).toThrow(ValidationError);
    expect(() => resolveBudget({ connectionBudget: 201 }, false)).toThrow(/per-client limit of 200/);
    expect(
      resolveBudget({ connectionBudget: 250, agentConnectionLimit: 256 }, false).blockingConnections,
    ).toBe(242);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => resolveBudget({ blockingConnections: bad }, false)).toThrow(ValidationError);
      expect(() => resolveBudget({ connectionBudget: bad }, false)).toThrow(ValidationError);
    }
    expect(() => resolveBudget({ connectionBudget: 8, connections: 8 }, false)).toThrow(ValidationError);
    expect(() => resolveConfig({ env: {}, connectionBudget: 1000 })).toThrow(ValidationError);
  });
});
