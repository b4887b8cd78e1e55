/**
 * Readiness and liveness endpoints on a plain `node:http` server, answered from
 * `consul.healthReport()`: `/ready` is 200 while the agent answers with a leader, heartbeats
 * get through and no watch is failing, else 503; both carry the report as JSON.
 *
 *   npx tsx examples/readiness.ts
 *   curl -i http://127.0.0.1:<port>/ready
 *
 * Uses the agent named by CONSUL_HTTP_ADDR, or starts a throwaway one when none is set.
 * SERVICE_NAME and PORT are optional. Stops on SIGTERM/SIGINT, deregistering first.
 */
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClosedError, Consul, type ClientHealthReport } from '../src/index.js';
import { startConsul } from '../src/testing/index.js';

const ownAgent = process.env['CONSUL_HTTP_ADDR'] ? undefined : await startConsul();
const consul = new Consul(ownAgent ? { address: ownAgent.address } : {});

function answer(response: ServerResponse, status: number, report: ClientHealthReport): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  response.end(`${JSON.stringify(report)}\n`);
}

const server = createServer((request, response) => {
  if (request.url !== '/ready' && request.url !== '/live') {
    response.writeHead(404).end();
    return;
  }
  // The probe must answer before the orchestrator's own probe timeout (1 s by default in
  // Kubernetes), so the agent check is bounded well below it.
  consul.healthReport({ timeout: '800ms' }).then(
    (report) => {
      // Liveness only asks "is this process working"; a restart would not bring an
      // unreachable agent back, so an agent outage makes the instance unready, not dead.
      const ok = request.url === '/live' ? true : report.healthy;
      answer(response, ok ? 200 : 503, report);
    },
    (error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`${error instanceof Error ? error.message : String(error)}\n`);
    },
  );
});
server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;

console.log(`ready probe on http://127.0.0.1:${port}/ready`);

// The probe serves at once: while the agent cannot be reached, registerService keeps trying
// (and /ready answers 503), which is what the prober needs to see.
const registering = consul.registerService({
  name: process.env['SERVICE_NAME'] ?? 'readiness-example',
  address: '127.0.0.1',
  port,
  handleSignals: false,
});
registering.catch((error: unknown) => {
  // Stopping before the agent ever answered ends the attempt with a ClosedError: not a failure.
  if (!(error instanceof ClosedError)) console.error('registration failed:', error);
});

const stop = async (): Promise<void> => {
  server.close();
  // consul.close() deregisters, and ends a registration still trying to reach the agent.
  await consul.close();
  await ownAgent?.stop();
};
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    stop().catch((error: unknown) => {
      console.error('stopping failed:', error);
      process.exitCode = 1;
    });
  });
}
