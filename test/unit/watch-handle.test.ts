/**
 * The watch handle's delivery to its listeners, over an in-memory source (the handle's own
 * logic: what a listener receives, and how a failing listener is contained). Behaviour
 * against a real agent is in test/integration/watch.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ClosedError } from '../../src/errors.js';
import { WatchHandle } from '../../src/watch/handle.js';
import type { LoopHealth, LoopSubscriber } from '../../src/watch/loop.js';
import type { WatchSource } from '../../src/watch/source.js';
import { memoryLogger } from '../support/logging.js';

/** A source whose values the test pushes by hand. */
class ManualSource<T> implements WatchSource<T> {
  readonly description = 'manual';
  readonly health: LoopHealth = 'live';
  readonly lastError = undefined;
  readonly index = 1n;
  current: { readonly value: T } | undefined;
  readonly subscribers = new Set<LoopSubscriber<T>>();

  constructor(initial?: { value: T }) {
    this.current = initial;
  }

  attach(subscriber: LoopSubscriber<T>): void {
    this.subscribers.add(subscriber);
  }

  detach(subscriber: LoopSubscriber<T>): Promise<void> {
    this.subscribers.delete(subscriber);
    return Promise.resolve();
  }

  push(value: T): void {
    this.current = { value };
    for (const subscriber of [...this.subscribers]) subscriber.deliver(value);
  }
}

function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('WatchHandle delivery', () => {
  it('gives every listener the value and the previous one, undefined values included', async () => {
    const source = new ManualSource<string | undefined>();
    const { logger } = memoryLogger('error');
    const watch = new WatchHandle(source, logger);
    const seen: [string | undefined, string | undefined][] = [];
    watch.on('change', (value, previous) => void seen.push([value, previous]));
    // A missing key is a value (`undefined`), not "no value yet".
    source.push(undefined);
    expect(watch.current).toBeUndefined();
    await expect(watch.ready()).resolves.toBeUndefined();
    source.push('a');
    source.push('b');
    source.push(undefined);
    expect(seen).toEqual([
      [undefined, undefined],
      ['a', undefined],
      ['b', 'a'],
      [undefined, 'b'],
    ]);
    expect(watch.current).toBeUndefined();
  });

  it("a late watch gets the source's current value as its first change, even when it is undefined", async () => {
    const source = new ManualSource<string | undefined>({ value: undefined });
    const { logger } = memoryLogger('error');
    const watch = new WatchHandle(source, logger);
    const seen: unknown[] = [];
    watch.on('change', (value, previous) => void seen.push([value, previous]));
    expect(seen).toEqual([]);
    await flush();
    expect(seen).toEqual([[undefined, undefined]]);
    await expect(watch.ready()).resolves.toBeUndefined();
    // Delivered once only: the loop's first delivery after the microtask repeats nothing.
    source.push('x');
    expect(seen).toEqual([
      [undefined, undefined],
      ['x', undefined],
    ]);
  });

  it('contains a throwing or rejecting listener: the others run, the error is reported and logged', async () => {
    const source = new ManualSource<number>();
    const { logger, lines } = memoryLogger('error');
    const watch = new WatchHandle(source, logger);
    const calls: string[] = [];
    const errors: string[] = [];
    watch.on('change', () => {
      calls.push('throws');
      throw new Error('sync bug');
    });
    watch.on('change', async () => {
      calls.push('rejects');
      await Promise.resolve();
      throw new Error('async bug');
    });
    // A listener may return something that is not a promise: nothing to report.
    watch.on('change', (value) => {
      calls.push('returns');
      return value as unknown as undefined;
    });
    watch.on('error', (error) => void errors.push(error.message));
    source.push(1);
    expect(calls).toEqual(['throws', 'rejects', 'returns']);
    expect(errors).toEqual(['sync bug']);
    await flush();
    expect(errors).toEqual(['sync bug', 'async bug']);
    expect(lines.filter((line) => line.level === 50).map((line) => line.err?.message)).toEqual([
      'sync bug',
      'async bug',
    ]);
    // The watch keeps delivering.
    source.push(2);
    expect(calls).toHaveLength(6);
    expect(watch.current).toBe(2);
  });

  it('a listener added or removed during a delivery takes effect from the next one', () => {
    const source = new ManualSource<number>();
    const { logger } = memoryLogger('error');
    const watch = new WatchHandle(source, logger);
    const calls: string[] = [];
    const late = (value: number): void => void calls.push(`late ${value}`);
    const removed = (value: number): void => void calls.push(`removed ${value}`);
    watch.on('change', (value) => {
      calls.push(`first ${value}`);
      watch.on('change', late);
      watch.off('change', removed);
    });
    watch.on('change', removed);
    source.push(1);
    source.push(2);
    expect(calls).toEqual(['first 1', 'removed 1', 'first 2', 'late 2']);
  });

  it('after close, deliveries reach no listener and current keeps the last value', async () => {
    const source = new ManualSource<number>();
    const { logger } = memoryLogger('error');
    const watch = new WatchHandle(source, logger);
    const seen: number[] = [];
    watch.on('change', (value) => void seen.push(value));
    source.push(1);
    await watch.close();
    expect(source.subscribers.size).toBe(0);
    (watch as unknown as LoopSubscriber<number>).deliver(2);
    expect(seen).toEqual([1]);
    expect(watch.current).toBe(1);
  });

  it('close() rejects a pending ready() and every later one with the same ClosedError', async () => {
    const source = new ManualSource<number>();
    const { logger } = memoryLogger('error');
    const watch = new WatchHandle(source, logger);
    const pending = watch.ready();
    await watch.close();
    const first = await pending.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(first).toBeInstanceOf(ClosedError);
    expect((first as ClosedError).message).toMatch(/closed before its first answer/);
    await expect(watch.ready()).rejects.toBe(first);
  });

  it('ready() after a close with nobody waiting rejects with a ClosedError', async () => {
    const source = new ManualSource<number>();
    const { logger } = memoryLogger('error');
    const watch = new WatchHandle(source, logger);
    await watch.close();
    const error = await watch.ready().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ClosedError);
    await expect(watch.ready()).rejects.toBe(error);
  });
});
