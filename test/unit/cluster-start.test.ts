/** startCluster's failure path: a failed start is cleaned up, and no failure is dropped. */
import { describe, expect, it } from 'vitest';
import { startWithCleanup } from '../../src/testing/cluster-start.js';

describe('startWithCleanup', () => {
  it('returns what the start returns and does not clean up', async () => {
    let cleaned = false;
    await expect(
      startWithCleanup(
        async () => 'cluster',
        async () => void (cleaned = true),
      ),
    ).resolves.toBe('cluster');
    expect(cleaned).toBe(false);
  });

  it('cleans up after a failed start and rethrows the start failure', async () => {
    let cleaned = false;
    const failure = new Error('no leader');
    await expect(
      startWithCleanup(
        async () => {
          throw failure;
        },
        async () => void (cleaned = true),
      ),
    ).rejects.toBe(failure);
    expect(cleaned).toBe(true);
  });

  it('reports both when the clean-up fails too', async () => {
    const failure = new Error('no leader');
    const cleanupFailure = new Error('network still in use');
    const error = await startWithCleanup(
      async () => {
        throw failure;
      },
      async () => {
        throw cleanupFailure;
      },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors).toEqual([failure, cleanupFailure]);
    expect((error as AggregateError).message).toContain('no leader');
  });
});
