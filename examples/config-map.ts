/**
 * A watched config map: reads a config folder as JSON, then prints what each write changes,
 * how a value that is not valid JSON is reported (the old value stays), and the recovery.
 *
 *   npx tsx examples/config-map.ts
 *
 * Uses the agent named by CONSUL_HTTP_ADDR, or starts a throwaway one when none is set.
 * CONFIG_PREFIX is optional; the example deletes what it wrote under it.
 */
import { Consul, type ConfigChange } from '../src/index.js';
import { startConsul } from '../src/testing/index.js';

const ownAgent = process.env['CONSUL_HTTP_ADDR'] ? undefined : await startConsul();
const consul = new Consul(ownAgent ? { address: ownAgent.address } : {});
const prefix = process.env['CONFIG_PREFIX'] ?? `example/config-${process.pid}`;

try {
  await consul.kv.put(`${prefix}/db/host`, '"db.internal"');
  await consul.kv.put(`${prefix}/db/pool`, '10');

  const cfg = consul.configMap(prefix, { decode: 'json' });
  await cfg.ready();
  console.log('initial', JSON.stringify(cfg.toObject()));

  // Each write below is followed by the event it causes.
  const nextChange = () => new Promise<ConfigChange<unknown>>((resolve) => cfg.once('change', resolve));
  const nextError = () => new Promise<Error>((resolve) => cfg.once('error', resolve));
  const report = ({ added, changed, removed }: ConfigChange<unknown>) =>
    console.log('change', JSON.stringify({ added, changed, removed }), JSON.stringify(cfg.toObject()));

  let change = nextChange();
  await consul.kv.put(`${prefix}/db/pool`, '20');
  report(await change);

  change = nextChange();
  await consul.kv.put(`${prefix}/features/beta`, 'true');
  report(await change);

  const failed = nextError();
  await consul.kv.put(`${prefix}/db/pool`, '{ not json');
  console.log('error', (await failed).message, '| db/pool is still', cfg.get('db/pool'));

  change = nextChange();
  await consul.kv.put(`${prefix}/db/pool`, '30');
  report(await change);

  change = nextChange();
  await consul.kv.delete(`${prefix}/features/beta`);
  report(await change);

  await cfg.close();
} finally {
  await consul.kv.delete(`${prefix}/`, { recurse: true });
  await consul.close();
  await ownAgent?.stop();
}
