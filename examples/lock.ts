/**
 * A distributed lock protecting a shared resource, with fencing tokens.
 *
 *   npx tsx examples/lock.ts
 *
 * Several workers (each with its own client, as separate processes would have) take turns
 * in a critical section guarded by `consul.lock()`. The "resource" is a KV key that keeps
 * the highest fencing token it accepted and refuses older ones, which is what keeps it safe
 * even if a holder lost its lock without noticing in time.
 *
 * Uses the agent named by CONSUL_HTTP_ADDR, or starts a throwaway one when none is set.
 * WORKERS (default 3) and ROUNDS (default 3) are optional. Exits 0 when every critical
 * section ran alone.
 */
import { randomBytes } from 'node:crypto';
import { Consul, LockLostError } from '../src/index.js';
import { startConsul } from '../src/testing/index.js';

const ownAgent = process.env['CONSUL_HTTP_ADDR'] ? undefined : await startConsul();
const options = ownAgent ? { address: ownAgent.address } : {};
const workers = Number(process.env['WORKERS'] ?? 3);
const rounds = Number(process.env['ROUNDS'] ?? 3);
const prefix = `examples/lock-${randomBytes(3).toString('hex')}`;
const lockKey = `${prefix}/.lock`; // the key `consul lock ${prefix} <cmd>` would use too
const resourceKey = `${prefix}/resource`;

/**
 * The protected resource: accepts a write only with a fencing token at least as large as the
 * largest it has seen, atomically (check-and-set on the key that stores it).
 */
async function writeResource(consul: Consul, token: bigint, value: string): Promise<boolean> {
  const current = await consul.kv.get(resourceKey);
  const highest = current ? BigInt(JSON.parse(String(current.Value)).token as string) : undefined;
  if (highest !== undefined && token < highest) return false;
  return consul.kv.put(resourceKey, JSON.stringify({ token: String(token), value }), {
    cas: current?.ModifyIndex ?? 0n,
  });
}

let inside = 0;
let overlaps = 0;
let sections = 0;

async function worker(name: string): Promise<void> {
  await using consul = new Consul(options);
  // Short TTL and no lock-delay suit a demo; see FAST_FAILOVER and the defaults in the docs.
  const lock = consul.lock(lockKey, { value: name, ttl: '10s', lockDelay: 0 });
  lock.on('lost', (error) => console.error(`${name}: lost the lock: ${error.message}`));
  for (let round = 1; round <= rounds; round++) {
    await lock.withLock(async (signal) => {
      inside++;
      try {
        if (inside > 1) overlaps++;
        const token = lock.fencingToken as bigint;
        console.log(`${name}: holds the lock (round ${round}, fencing token ${token})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        // Stop touching the resource as soon as the lock is gone.
        signal.throwIfAborted();
        const accepted = await writeResource(consul, token, `${name} round ${round}`);
        if (!accepted)
          console.log(`${name}: the resource refused token ${token} (a newer holder wrote first)`);
        sections++;
      } finally {
        inside--;
      }
    });
  }
}

try {
  await Promise.all(Array.from({ length: workers }, (_, index) => worker(`worker-${index + 1}`)));
  console.log(
    `done: ${sections} critical sections, ${overlaps === 0 ? 'no overlap' : `${overlaps} OVERLAPS`}`,
  );
  if (overlaps > 0) process.exitCode = 1;
} catch (error) {
  console.error(error instanceof LockLostError ? `lock lost: ${error.message}` : error);
  process.exitCode = 1;
} finally {
  await ownAgent?.stop();
}
