/**
 * A pool of Consul clients for one test file, closed together in `afterAll`.
 */
import { pino } from 'pino';
import { Consul, type ConsulOptions } from '../../src/index.js';

/** A silent logger for clients whose expected failures would flood the test output. */
export const quietLogger = pino({ level: process.env['CONSULKIT_LOG_LEVEL'] ?? 'silent' });

/** Creates clients and closes them all in `closeAll()` (call it in afterAll). */
export class Clients {
  readonly #clients: Consul[] = [];

  constructor(private readonly address: string) {}

  /** A new client on the address (or `options.address`), logging nothing unless asked. */
  create(options: ConsulOptions = {}): Consul {
    const consul = new Consul({ address: this.address, logger: quietLogger, env: {}, ...options });
    this.#clients.push(consul);
    return consul;
  }

  /** Closes every client created so far; a failed close is reported on stderr, not thrown. */
  async closeAll(): Promise<void> {
    const clients = this.#clients.splice(0);
    const results = await Promise.allSettled(clients.map((consul) => consul.close()));
    for (const result of results) {
      if (result.status === 'rejected')
        process.stderr.write(`closing a test client failed: ${String(result.reason)}\n`);
    }
  }
}
