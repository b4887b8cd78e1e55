import { EventEmitter } from 'eventemitter3';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { asError, callListener, safeEmit } from '../../src/safe-emit.js';

const silent = pino({ level: 'silent' });

describe('callListener', () => {
  it('hands a synchronous throw to onFailure as the same Error', () => {
    const failures: Error[] = [];
    const thrown = new Error('sync boom');
    callListener(
      () => {
        throw thrown;
      },
      (error) => failures.push(error),
    );
    expect(failures).toEqual([thrown]);
  });

  it('hands the rejection of a returned promise to onFailure, with no unhandled rejection', async () => {
    const failures: Error[] = [];
    const rejected = new Error('async boom');
    callListener(
      async () => {
        await Promise.resolve();
        throw rejected;
      },
      (error) => failures.push(error),
    );
    expect(failures).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures).toEqual([rejected]);
  });

  it('wraps a non-Error rejection, keeping the value as its cause', async () => {
    const failures: Error[] = [];
    callListener(
      () => Promise.reject('plain string'),
      (error) => failures.push(error),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(Error);
    expect(failures[0]?.message).toBe('plain string');
    expect(failures[0]?.cause).toBe('plain string');
  });

  it('calls onFailure never for a listener that returns normally or resolves', async () => {
    const failures: Error[] = [];
    let calls = 0;
    callListener(
      () => {
        calls++;
        return 42;
      },
      (error) => failures.push(error),
    );
    callListener(
      async () => {
        calls++;
      },
      (error) => failures.push(error),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(2);
    expect(failures).toEqual([]);
  });
});

describe('asError', () => {
  it('keeps an Error and wraps anything else', () => {
    const error = new Error('x');
    expect(asError(error)).toBe(error);
    const wrapped = asError(7);
    expect(wrapped.message).toBe('7');
    expect(wrapped.cause).toBe(7);
  });
});

describe('safeEmit', () => {
  it('reports a throwing listener on the error event', () => {
    const emitter = new EventEmitter<{ change: [number]; error: [Error] }>();
    const seen: Error[] = [];
    emitter.on('change', () => {
      throw new Error('listener failed');
    });
    emitter.on('error', (error) => seen.push(error));
    safeEmit(emitter, silent, 'test', 'change', 1);
    expect(seen.map((error) => error.message)).toEqual(['listener failed']);
  });
});
