/**
 * Checks that bad input is refused with a `ValidationError`, before anything is sent.
 */
import { expect } from 'vitest';
import { ValidationError, type Consul } from '../../src/index.js';

/**
 * Runs `fn`, expects a ValidationError (on `field`, if given), and checks that no request
 * reached the transport.
 */
export async function expectInvalid(consul: Consul, fn: () => unknown, field?: string): Promise<void> {
  const before = consul.stats().requests;
  let error: unknown;
  try {
    await fn();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(ValidationError);
  if (field !== undefined) expect((error as ValidationError).field).toBe(field);
  expect(consul.stats().requests).toBe(before);
}

/** The `field` of the ValidationError that `fn` throws synchronously; fails if it throws none. */
export function validationField(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).field;
  }
  throw new Error('expected a ValidationError');
}
