/**
 * Raft status: `/v1/status`.
 *
 * @packageDocumentation
 */
import type { Transport } from '../transport/transport.js';
import type { CallOptions } from '../transport/types.js';

/** The `status` endpoint group. */
export class Status {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** Address (`ip:port`) of the Raft leader, or `''` when the cluster has none. */
  async leader(options: CallOptions = {}): Promise<string> {
    const response = await this.#transport.request<string>({
      method: 'GET',
      path: '/v1/status/leader',
      call: options,
      response: 'json',
    });
    return response.body;
  }

  /** Addresses of the Raft peers. */
  async peers(options: CallOptions = {}): Promise<string[]> {
    const response = await this.#transport.request<string[]>({
      method: 'GET',
      path: '/v1/status/peers',
      call: options,
      response: 'json',
    });
    return response.body;
  }
}
