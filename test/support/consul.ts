/**
 * Helpers for integration tests that use the shared agent from test/global-setup.ts.
 * Tests that kill/restart agents or need ACLs/TLS start their own via `startConsul`.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

/** Base URL of the shared dev agent (plain HTTP, no ACLs). */
export function sharedConsulAddress(): string {
  const address = inject('consulAddress');
  if (typeof address !== 'string' || address === '') {
    throw new Error(
      'no shared Consul: run this test in the vitest "integration" project (test/global-setup.ts)',
    );
  }
  return address;
}

/** Backend of the shared agent (`container` or `binary`). */
export function sharedConsulBackend(): string {
  return inject('consulBackend');
}

/**
 * A KV prefix no other test (or earlier run against the same agent) uses, e.g.
 * `test/lock-basic-3f9a1c2b`. No trailing slash; append `/key` yourself.
 */
export function uniquePrefix(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '') || 't';
  return `test/${safe}-${randomBytes(4).toString('hex')}`;
}

/** A name no other test (or earlier run) uses: `name` plus a random suffix, e.g. `web-3f9a1c2b`. */
export function uniqueName(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}
