/**
 * Wire types of Consul Connect (`/v1/connect`, `/v1/agent/connect`): intentions, the CA and
 * leaf certificates, named and shaped as Consul 1.8's documentation writes them.
 *
 * @packageDocumentation
 */
import type { CallOptions, ReadOptions } from '../../transport/types.js';

/** What an intention does with matching connections. */
export type IntentionAction = 'allow' | 'deny';

/** An intention as Consul stores it (`GET /v1/connect/intentions/:id`). */
export interface Intention {
  /** Intention ID (UUID). */
  ID: string;
  /** Free-form description. */
  Description: string;
  /** Namespace of the source (Consul Enterprise; `default` otherwise). */
  SourceNS: string;
  /** Source service name, or `*` for every service. */
  SourceName: string;
  /** Namespace of the destination (Consul Enterprise; `default` otherwise). */
  DestinationNS: string;
  /** Destination service name, or `*` for every service. */
  DestinationName: string;
  /** What the source is; only `consul` (a Consul service) in 1.8. */
  SourceType: string;
  /** `allow` or `deny`. */
  Action: IntentionAction;
  /** Opaque metadata. */
  Meta?: Record<string, string> | null;
  /** Precedence Consul computed from the exactness of the names; higher wins. */
  Precedence: number;
  /** RFC 3339 creation time. */
  CreatedAt: string;
  /** RFC 3339 time of the last change. */
  UpdatedAt: string;
  /** Hash of the intention's content (base64). */
  Hash: string;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** Body of an intention create or update. */
export interface IntentionRequest {
  /** Source service name, or `*`. */
  SourceName: string;
  /** Destination service name, or `*`. */
  DestinationName: string;
  /** `allow` or `deny`. */
  Action: IntentionAction;
  /** Free-form description. */
  Description?: string;
  /** Source type; `consul` (the default) is the only one 1.8 knows. */
  SourceType?: 'consul';
  /** Opaque metadata. */
  Meta?: Record<string, string>;
  /** Namespace of the source (Consul Enterprise). */
  SourceNS?: string;
  /** Namespace of the destination (Consul Enterprise). */
  DestinationNS?: string;
}

/** Options of `connect.intentions.match`. */
export interface IntentionMatchOptions extends ReadOptions {
  /** Match intentions whose `source` or `destination` is the given name. */
  by: 'source' | 'destination';
}

/** One CA root certificate (`GET /v1/connect/ca/roots`). */
export interface CARoot {
  /** Root ID (a fingerprint). */
  ID: string;
  /** Human-readable name. */
  Name: string;
  /** Serial number of the certificate. */
  SerialNumber: number;
  /** Key ID of the signing key. */
  SigningKeyID: string;
  /** Trust domain of an external CA, when cross-signed. */
  ExternalTrustDomain?: string;
  /** RFC 3339 start of validity. */
  NotBefore: string;
  /** RFC 3339 end of validity. */
  NotAfter: string;
  /** The root certificate (PEM). */
  RootCert: string;
  /** Intermediate certificates (PEM), if any. */
  IntermediateCerts?: string[] | null;
  /** Whether this root signs new leaf certificates. */
  Active: boolean;
  /** `ec` or `rsa`. */
  PrivateKeyType: string;
  /** Key size in bits. */
  PrivateKeyBits: number;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** The CA roots of the cluster. */
export interface CARootList {
  /** ID of the root that signs new certificates. */
  ActiveRootID: string;
  /** SPIFFE trust domain of the cluster, e.g. `11111111-2222-….consul`. */
  TrustDomain: string;
  /** Every root, active or not. */
  Roots: CARoot[];
}

/** The Connect CA configuration (`/v1/connect/ca/configuration`). */
export interface CAConfiguration {
  /** CA provider: `consul`, `vault` or `aws-pca`. */
  Provider: string;
  /** Provider-specific settings, e.g. `{ LeafCertTTL: '72h' }` for `consul`. */
  Config: Record<string, unknown>;
  /** Raft index of creation (absent in a request). */
  CreateIndex?: bigint;
  /** Raft index of the last change (absent in a request). */
  ModifyIndex?: bigint;
}

/** Body of `connect.ca.setConfig`. */
export interface CAConfigurationRequest {
  /** CA provider: `consul`, `vault` or `aws-pca`. */
  Provider: string;
  /** Provider-specific settings. */
  Config: Record<string, unknown>;
  /** Switch providers even when the old one cannot cross-sign the new root. */
  ForceWithoutCrossSigning?: boolean;
}

/** A leaf certificate for a service (`GET /v1/agent/connect/ca/leaf/:service`). */
export interface LeafCert {
  /** Serial number (colon-separated hex). */
  SerialNumber: string;
  /** The certificate (PEM). */
  CertPEM: string;
  /** Its private key (PEM). */
  PrivateKeyPEM: string;
  /** The service the certificate identifies. */
  Service: string;
  /** SPIFFE URI of the service. */
  ServiceURI: string;
  /** RFC 3339 start of validity. */
  ValidAfter: string;
  /** RFC 3339 end of validity. */
  ValidBefore: string;
  /** Raft index of creation. */
  CreateIndex: bigint;
  /** Raft index of the last change. */
  ModifyIndex: bigint;
}

/** Body of `agent.connect.authorize`. */
export interface AuthorizeRequest {
  /** The destination service the connection is for. */
  Target: string;
  /** SPIFFE URI of the client certificate, e.g. `spiffe://<trust-domain>/ns/default/dc/dc1/svc/web`. */
  ClientCertURI: string;
  /** Serial number of the client certificate. */
  ClientCertSerial: string;
}

/** Answer of `agent.connect.authorize`. */
export interface AuthorizeResponse {
  /** Whether the connection is allowed. */
  Authorized: boolean;
  /** Why: the intention that matched, or the default. */
  Reason: string;
}

/** Options of the agent's Connect reads, which block on a content hash rather than an index. */
export type AgentConnectReadOptions = Omit<ReadOptions, 'filter'>;

/** Options of writes in the Connect group. */
export type ConnectCallOptions = CallOptions;
