/**
 * Runs examples/readiness.ts as a child process and probes its /ready endpoint: 200 with the
 * health report against the shared agent, 503 when the agent cannot be reached; SIGTERM
 * deregisters and ends it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Consul, type ClientHealthReport } from '../../src/index.js';
import { sharedConsulAddress, uniqueName } from '../support/consul.js';
import { waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const consul = new Consul({ address: sharedConsulAddress(), env: {} });
const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(() => consul.close());

/** Starts the example; resolves with the child and its /ready URL once it prints it. */
async function startExample(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/readiness.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started.push(child);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  try {
    for await (const line of lines) {
      const match = /^ready probe on (\S+)$/.exec(line);
      if (match?.[1] !== undefined) return { child, url: match[1] };
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`the example ended (exit ${String(child.exitCode)}) without printing its probe URL`);
}

describe('examples/readiness.ts', () => {
  it('answers /ready with 200 and the report while the agent is reachable, and deregisters on SIGTERM', async () => {
    const name = uniqueName('readiness');
    const { child, url } = await startExample({
      CONSUL_HTTP_ADDR: sharedConsulAddress(),
      SERVICE_NAME: name,
    });
    // The probe serves before the registration is done; it shows up in the report once it is.
    const { response, report } = await waitFor('the registration in the report', async () => {
      const answer = await fetch(url);
      const body = (await answer.json()) as ClientHealthReport;
      return body.registrations.length > 0 && { response: answer, report: body };
    });
    expect(response.status).toBe(200);
    expect(report.healthy).toBe(true);
    expect(report.agent.reachable).toBe(true);
    expect(report.registrations).toHaveLength(1);
    const serviceId = report.registrations[0]?.serviceId as string;
    expect(await consul.agent.service.get(serviceId)).toBeDefined();
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    expect(await consul.agent.service.get(serviceId)).toBeUndefined();
  });

  it('answers /ready with 503 (and /live with 200) when the agent cannot be reached', async () => {
    const { child, url } = await startExample({ CONSUL_HTTP_ADDR: 'http://127.0.0.1:1' });
    const ready = await fetch(url);
    const report = (await ready.json()) as ClientHealthReport;
    expect(ready.status).toBe(503);
    expect(report).toMatchObject({ healthy: false, agent: { reachable: false } });
    expect((await fetch(url.replace('/ready', '/live'))).status).toBe(200);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
  });
});
