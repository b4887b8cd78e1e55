import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/errors.js';
import { abortable, timeoutSignal } from '../../src/timing/index.js';

describe('timeoutSignal', () => {
  it("aborts with the caller's reason once the time is up", async () => {
    const timeout = timeoutSignal(20, () => new TimeoutError('health() did not answer within 20 ms', 20));
    const never = new Promise<never>(() => {});
    const error = await abortable(never, timeout.signal).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeoutMs).toBe(20);
    expect(timeout.signal.reason).toBe(error);
  });

  it('never aborts once disposed', async () => {
    for (const unref of [false, true]) {
      const timeout = timeoutSignal(10, () => new Error('late'), { unref });
      timeout.dispose();
      await new Promise((resolve) => setTimeout(resolve, 40));
      expect(timeout.signal.aborted).toBe(false);
    }
  });
});
