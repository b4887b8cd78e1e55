/**
 * A health-aware load balancer: three local HTTP servers register as instances of one
 * service; requests go round-robin across them until one fails its health check and leaves
 * the rotation. Then another one crashes while its check still passes: calls are retried on
 * the survivor, and outlier detection ejects the crashed instance without waiting for Consul.
 *
 *   npx tsx examples/balancer.ts
 *
 * Uses the agent named by CONSUL_HTTP_ADDR, or starts a throwaway one when none is set.
 * SERVICE_NAME is optional; the example deregisters what it registered.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Check, Consul, type BalancerChange } from '../src/index.js';
import { startConsul } from '../src/testing/index.js';

const ownAgent = process.env['CONSUL_HTTP_ADDR'] ? undefined : await startConsul();
const consul = new Consul(ownAgent ? { address: ownAgent.address } : {});
const name = process.env['SERVICE_NAME'] ?? `hello-lb-${process.pid}`;
const ids = [1, 2, 3].map((n) => `${name}-${n}`);

const servers = await Promise.all(
  ids.map(async (id) => {
    const server = createServer((_request, response) => response.end(`hello from ${id}\n`));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return server;
  }),
);

try {
  for (const [i, id] of ids.entries()) {
    const { port } = servers[i]?.address() as AddressInfo;
    // A TTL check (ID `service:<id>`) that starts passing; the example fails one below.
    await consul.agent.service.register({
      Name: name,
      ID: id,
      Address: '127.0.0.1',
      Port: port,
      Check: Check.ttl('1m', { status: 'passing' }),
    });
  }

  // Two failures in a row eject an instance here (default 5), to keep the example short.
  const lb = consul.balancer(name, { strategy: 'round-robin', outlierDetection: { consecutiveFailures: 2 } });
  lb.on('ejected', ({ instance, failures, reason }) =>
    console.log('ejected', instance.id, `after ${failures} failures (${reason})`),
  );
  const nextChange = () => new Promise<BalancerChange>((resolve) => lb.once('change', resolve));
  await lb.ready();
  // The agent pushes registrations to the catalog asynchronously: wait until all three are in.
  while (lb.instances().length < ids.length) await nextChange();
  console.log(
    'instances',
    lb
      .instances()
      .map((instance) => `${instance.id}@${instance.address}:${instance.port}`)
      .join(' '),
  );

  for (let i = 0; i < 6; i += 1) {
    const response = await lb.request('/');
    console.log('answer', response.instance.id, (await response.text()).trim());
  }

  const changed = nextChange();
  await consul.agent.check.fail(`service:${ids[1]}`, 'failing on purpose');
  const { removed } = await changed;
  console.log('removed', removed.map((instance) => instance.id).join(' '));

  for (let i = 0; i < 4; i += 1) {
    const response = await lb.request('/');
    console.log('answer', response.instance.id, (await response.text()).trim());
  }

  // A crash Consul has not noticed yet: the TTL check of the third instance still passes.
  const crashed = servers[2];
  crashed?.close();
  crashed?.closeAllConnections();
  console.log('crashed', ids[2]);
  for (let i = 0; i < 6; i += 1) {
    const response = await lb.request('/');
    const text = (await response.text()).trim();
    console.log('answer', response.instance.id, text, `(${response.attempts} attempt(s))`);
  }
  await lb.close();
} finally {
  for (const id of ids) await consul.agent.service.deregister(id);
  for (const server of servers) server.close();
  await consul.close();
  await ownAgent?.stop();
}
