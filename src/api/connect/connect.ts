/**
 * Consul Connect: `/v1/connect`. Intentions and the certificate authority. The agent-local
 * parts (leaf certificates, authorize) live in `agent.connect`.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import type { CallOptions, ReadOptions } from '../../transport/types.js';
import { ConnectIntentions } from './connect-intentions.js';
import type { CAConfiguration, CAConfigurationRequest, CARootList } from './connect-types.js';
import { read, readAs, type ConsulRead } from '../read.js';
import { requireName } from '../validate.js';

/** The CA part of the `connect` group: `consul.connect.ca`. */
export class ConnectCA {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** The cluster's CA roots and trust domain. Blocking on the roots' index is supported. */
  roots(options: ReadOptions = {}): ConsulRead<CARootList> {
    return read<CARootList, CARootList>(
      this.#transport,
      { method: 'GET', path: '/v1/connect/ca/roots', read: options, response: 'json' },
      (body) => ({ ...body, Roots: body.Roots ?? [] }),
    );
  }

  /** The CA provider and its configuration. Needs `operator = "read"`. */
  config(options: ReadOptions = {}): ConsulRead<CAConfiguration> {
    return readAs<CAConfiguration>(this.#transport, {
      method: 'GET',
      path: '/v1/connect/ca/configuration',
      read: options,
      response: 'json',
    });
  }

  /**
   * Replaces the CA configuration. A new provider or new root key rotates the root (cross
   * signed where the old provider can). Needs `operator = "write"`.
   *
   * @throws ValidationError for a missing provider or a `Config` that is not an object
   */
  async setConfig(request: CAConfigurationRequest, options: CallOptions = {}): Promise<void> {
    if (request === null || typeof request !== 'object')
      throw new ValidationError('config', 'must be an object');
    requireName('Provider', request.Provider);
    if (request.Config === null || typeof request.Config !== 'object' || Array.isArray(request.Config)) {
      throw new ValidationError('Config', 'must be an object of provider settings');
    }
    await this.#transport.request({
      method: 'PUT',
      path: '/v1/connect/ca/configuration',
      body: { json: { ...request } },
      call: options,
      idempotent: true,
      response: 'none',
    });
  }
}

/** The `connect` endpoint group: `consul.connect.intentions` and `consul.connect.ca`. */
export class Connect {
  /** Intentions: which services may connect to which. */
  readonly intentions: ConnectIntentions;
  /** The Connect certificate authority. */
  readonly ca: ConnectCA;

  /** @internal */
  constructor(transport: Transport) {
    this.intentions = new ConnectIntentions(transport);
    this.ca = new ConnectCA(transport);
  }
}
