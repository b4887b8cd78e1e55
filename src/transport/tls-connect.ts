/**
 * TLS settings as undici's `connect` options. Shared by the Consul transport and the
 * balancer's client for application instances, so both read the same fields the same way.
 *
 * @packageDocumentation
 */

/** The TLS fields consulkit accepts (PEM contents, a server name, verification). */
export interface TlsConnectInput {
  ca?: string | Buffer | undefined;
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  serverName?: string | undefined;
  rejectUnauthorized?: boolean | undefined;
}

/** undici `connect` options for `tls`: only the fields that are set, `serverName` as `servername`. */
export function tlsConnectOptions(tls: TlsConnectInput): {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  rejectUnauthorized?: boolean;
} {
  return {
    ...(tls.ca !== undefined && { ca: tls.ca }),
    ...(tls.cert !== undefined && { cert: tls.cert }),
    ...(tls.key !== undefined && { key: tls.key }),
    ...(tls.serverName !== undefined && { servername: tls.serverName }),
    ...(tls.rejectUnauthorized !== undefined && { rejectUnauthorized: tls.rejectUnauthorized }),
  };
}
