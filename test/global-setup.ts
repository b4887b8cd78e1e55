/**
 * vitest globalSetup for the `integration` project: ONE shared dev agent for all
 * integration test files, so most tests do not pay an agent start each. Tests isolate
 * themselves by key prefix (see test/support/consul.ts). Tests that kill, restart or
 * reconfigure an agent (fault tests, ACL/TLS tests) must start their own with
 * `startConsul()` instead of disturbing this one.
 */
import type { TestProject } from 'vitest/node';
import { startConsul } from '../src/testing/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the shared agent, e.g. `http://127.0.0.1:PORT`. */
    consulAddress: string;
    /** Backend the shared agent runs on: `container` or `binary`. */
    consulBackend: string;
  }
}

/** Starts the shared agent and provides its address; the returned function stops it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Two test files run at once against this agent, each with dozens of clients (contender
  // tests use one client per contender, as separate processes would). Together they can pass
  // Consul's default of 200 connections per client IP, after which a 1.8 agent closes new
  // connections unanswered; the limit is raised on purpose for the suite, not for a client.
  const consul = await startConsul({ acl: false, httpMaxConnsPerClient: 2000 });
  project.provide('consulAddress', consul.address);
  project.provide('consulBackend', consul.backend);
  return async () => {
    await consul.stop();
  };
}
