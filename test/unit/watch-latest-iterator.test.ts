import { describe, expect, it } from 'vitest';
import { LatestValueIterator } from '../../src/watch/latest-iterator.js';

describe('LatestValueIterator', () => {
  it('hands a value to a waiting consumer', async () => {
    const iterator = new LatestValueIterator<number>();
    const next = iterator.next();
    iterator.push(1);
    expect(await next).toEqual({ value: 1, done: false });
  });

  it('keeps only the newest unread value (a slow consumer skips ahead, nothing queues)', async () => {
    const iterator = new LatestValueIterator<number>();
    for (let i = 1; i <= 10_000; i++) iterator.push(i);
    expect(await iterator.next()).toEqual({ value: 10_000, done: false });
    const pending = iterator.next();
    iterator.push(10_001);
    expect(await pending).toEqual({ value: 10_001, done: false });
  });

  it('delivers an unread value before ending, then reports done', async () => {
    const iterator = new LatestValueIterator<string>();
    iterator.push('last');
    iterator.end();
    expect(await iterator.next()).toEqual({ value: 'last', done: false });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    iterator.push('ignored');
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('throws the ending error once, after the unread value', async () => {
    const iterator = new LatestValueIterator<string>();
    iterator.push('v');
    const failure = new Error('fatal');
    iterator.end(failure);
    expect(await iterator.next()).toEqual({ value: 'v', done: false });
    await expect(iterator.next()).rejects.toBe(failure);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('rejects a waiting consumer when ended with an error', async () => {
    const iterator = new LatestValueIterator<string>();
    const pending = iterator.next();
    const failure = new Error('fatal');
    iterator.end(failure);
    await expect(pending).rejects.toBe(failure);
  });

  it('tells the producer once when the consumer breaks out, and waits for it', async () => {
    let released = 0;
    let finished = false;
    const iterator = new LatestValueIterator<number>(async () => {
      released++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      finished = true;
    });
    iterator.push(1);
    for await (const value of iterator) {
      expect(value).toBe(1);
      break;
    }
    expect(released).toBe(1);
    expect(finished).toBe(true);
    await iterator.return();
    expect(released).toBe(1);
    expect(iterator.ended).toBe(true);
  });

  it('does not call the producer back when it ended the iteration itself', async () => {
    let released = 0;
    const iterator = new LatestValueIterator<number>(() => {
      released++;
    });
    iterator.end();
    await iterator.return();
    expect(released).toBe(0);
  });

  it('drops an unread value when ended with discardUnread (the producer closed)', async () => {
    const iterator = new LatestValueIterator<number>();
    iterator.push(1);
    iterator.end(undefined, { discardUnread: true });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    const failing = new LatestValueIterator<number>();
    failing.push(1);
    failing.end(new Error('boom'), { discardUnread: true });
    await expect(failing.next()).rejects.toThrow('boom');
  });
});
