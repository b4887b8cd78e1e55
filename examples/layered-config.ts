/**
 * Layered application config: shared defaults in `config/application`, production overrides
 * in `config/application,prod`, the billing service's own settings in `config/billing` and
 * `config/billing,prod`, merged and validated with a zod schema, and kept live.
 *
 *   npx tsx examples/layered-config.ts
 *
 * Uses the agent named by CONSUL_HTTP_ADDR, or starts a throwaway one when none is set.
 * CONFIG_ROOT (default `example-config-<pid>`) is the KV folder used; the example deletes it.
 */
import { z } from 'zod';
import { Consul, type LayeredConfig } from '../src/index.js';
import { startConsul } from '../src/testing/index.js';

const ownAgent = process.env['CONSUL_HTTP_ADDR'] ? undefined : await startConsul();
const consul = new Consul(ownAgent ? { address: ownAgent.address } : {});
const root = process.env['CONFIG_ROOT'] ?? `example-config-${process.pid}`;

const Billing = z.object({
  db: z.object({ host: z.string(), pool: z.number().int().positive() }),
  currency: z.string().length(3),
  retries: z.number().int().default(3),
});

/** Writes a layer and waits for the config to report the outcome. */
async function write<T>(config: LayeredConfig<T>, layer: string, yaml: string | undefined): Promise<void> {
  // Either event settles the write: a rejected value is reported on `error`, not thrown.
  const outcome = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no change or error after writing ${layer}`)), 15_000);
    const settle = (): void => {
      clearTimeout(timer);
      config.off('change', settle);
      config.off('error', settle);
      resolve();
    };
    config.on('change', settle);
    config.on('error', settle);
  });
  if (yaml === undefined) await consul.kv.delete(`${root}/${layer}/`, { recurse: true });
  else await consul.kv.put(`${root}/${layer}/data`, yaml);
  await outcome;
}

try {
  await consul.kv.put(`${root}/application/data`, 'db:\n  host: db.internal\n  pool: 10\ncurrency: EUR\n');
  await consul.kv.put(`${root}/application,prod/data`, 'db:\n  host: db.prod.internal\n');
  await consul.kv.put(`${root}/billing/data`, 'db:\n  pool: 25\n');

  await using config = consul.config({ name: 'billing', profiles: ['prod'], root, schema: Billing });
  console.log('initial', JSON.stringify(await config.ready()));

  config.on('change', ({ value, diff }) => {
    const changes = diff.map(
      ({ path, kind, before, after }) =>
        `${kind} ${path.join('.')}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`,
    );
    console.log('change', changes.join('; '), '|', JSON.stringify(value));
  });
  config.on('error', (error) => {
    console.log('error', error.message, '| pool is still', config.value?.db.pool);
  });

  await write(config, 'billing,prod', 'db:\n  pool: 50\ncurrency: USD\n');
  await write(config, 'billing,prod', 'db:\n  pool: zero\ncurrency: USD\n');
  await write(config, 'billing,prod', 'db:\n  pool: 30\ncurrency: USD\n');
  await write(config, 'billing,prod', undefined);
} finally {
  await consul.kv.delete(`${root}/`, { recurse: true });
  await consul.close();
  await ownAgent?.stop();
}
