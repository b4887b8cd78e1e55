/**
 * The agent's Connect endpoints: `/v1/agent/connect`. The agent answers CA roots and leaf
 * certificates from its cache (refreshed in the background) and authorizes connections for
 * native Connect services.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../errors.js';
import type { Transport } from '../../transport/transport.js';
import type { CallOptions } from '../../transport/types.js';
import type {
  AgentConnectReadOptions,
  AuthorizeRequest,
  AuthorizeResponse,
  CARootList,
  LeafCert,
} from '../connect/connect-types.js';
import { read, readAs, type ConsulRead } from '../read.js';
import { requireName, segment } from '../validate.js';

/** `consul.agent.connect`. */
export class AgentConnect {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** The CA roots as the agent caches them; blocking on the index is supported. */
  roots(options: AgentConnectReadOptions = {}): ConsulRead<CARootList> {
    return read<CARootList, CARootList>(
      this.#transport,
      { method: 'GET', path: '/v1/agent/connect/ca/roots', read: options, response: 'json' },
      (body) => ({ ...body, Roots: body.Roots ?? [] }),
    );
  }

  /**
   * A leaf certificate and private key for `service`, signed by the active root. The agent
   * generates it on first request and renews it before it expires; a blocking read (with
   * the previous answer's index) returns when it was renewed or the root rotated. Needs
   * `service:write` on the service.
   */
  leaf(service: string, options: AgentConnectReadOptions = {}): ConsulRead<LeafCert> {
    return readAs<LeafCert>(this.#transport, {
      method: 'GET',
      path: `/v1/agent/connect/ca/leaf/${segment('service', service)}`,
      read: options,
      response: 'json',
    });
  }

  /**
   * Asks the agent whether a client (identified by its certificate's SPIFFE URI and serial)
   * may connect to `Target`, under the intentions. The answer is data, not an error: a
   * denied connection resolves `{ Authorized: false, Reason }`.
   *
   * @throws ValidationError for a missing target, URI or serial
   */
  async authorize(request: AuthorizeRequest, options: CallOptions = {}): Promise<AuthorizeResponse> {
    if (request === null || typeof request !== 'object')
      throw new ValidationError('request', 'must be an object');
    requireName('Target', request.Target);
    requireName('ClientCertURI', request.ClientCertURI);
    requireName('ClientCertSerial', request.ClientCertSerial);
    const response = await this.#transport.request<AuthorizeResponse>({
      method: 'POST',
      path: '/v1/agent/connect/authorize',
      body: { json: { ...request } },
      call: options,
      // Asking twice changes nothing.
      idempotent: true,
      response: 'json',
    });
    return response.body;
  }
}
