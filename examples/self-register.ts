/**
 * An HTTP server that registers itself in Consul at start and deregisters on SIGTERM/SIGINT.
 *
 *   npx tsx examples/self-register.ts
 *
 * Uses the agent named by CONSUL_HTTP_ADDR, or starts a throwaway one when none is set.
 * SERVICE_NAME and PORT are optional.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Consul } from '../src/index.js';
import { startConsul } from '../src/testing/index.js';

const ownAgent = process.env['CONSUL_HTTP_ADDR'] ? undefined : await startConsul();
const consul = new Consul(ownAgent ? { address: ownAgent.address } : {});

const server = createServer((_request, response) => response.end('hello\n'));
server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;

const registration = await consul.registerService({
  name: process.env['SERVICE_NAME'] ?? 'hello-web',
  address: '127.0.0.1',
  port,
  tags: ['example'],
  // Sent with every heartbeat (every 5 s with the default 15 s TTL).
  health: () => (server.listening ? 'passing' : { status: 'critical', note: 'server closed' }),
  // On SIGTERM/SIGINT consulkit deregisters, then lets the signal end the process as usual.
  // (Add your own SIGTERM listener to close the server gracefully: consulkit then deregisters
  // and leaves the exit to you.) A throwaway agent dies with this process, so there is
  // nothing to deregister from.
  handleSignals: ownAgent === undefined,
});
registration.on('registered', ({ reason }) => console.log(`registered again (${reason})`));
registration.on('error', (error) => console.error('registration:', error));

console.log(`${registration.id} serves http://127.0.0.1:${port}/ and is registered as ${registration.name}`);
console.log(
  ownAgent ? 'Ctrl-C stops it and the throwaway agent' : 'SIGTERM or Ctrl-C deregisters it and exits',
);
