/**
 * consulkit's `node:diagnostics_channel` channels and the messages published on them. APM
 * agents and tests subscribe by name (see {@link CHANNELS}) without any OpenTelemetry SDK.
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * diagnostics_channel.subscribe('consulkit:lock:lost', (message) => alert(message));
 * ```
 *
 * @packageDocumentation
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { CHANNELS } from './names.js';

/**
 * Published on `consulkit:request:start` and, the same object completed, on
 * `consulkit:request:end`. Never carries the token, a query string or a body.
 */
export interface RequestMessage {
  /** HTTP method. */
  readonly method: string;
  /** Request path without the query string; path-borne secrets (legacy ACL) are masked. */
  readonly path: string;
  /** The endpoint group (`kv`, `agent`, `health`…). */
  readonly group: string;
  /** Whether this is a blocking query. */
  readonly blocking: boolean;
  /** HTTP status, once answered (on `end`). */
  status?: number;
  /** The failure, when the request failed (on `end`). */
  error?: unknown;
  /** Milliseconds from start to end (on `end`). */
  durationMs?: number;
}

/** Published on `consulkit:watch:error`. */
export interface WatchErrorMessage {
  /** The watched query in words (never the token). */
  readonly query: string;
  /** Kind of query (its endpoint group). */
  readonly kind: string;
  readonly error: Error;
  /** Whether the loop stopped for good (a failure retrying cannot fix). */
  readonly fatal: boolean;
}

/** Published on the lock channels. */
export interface LockMessage {
  /** `lock` or `semaphore`. */
  readonly kind: 'lock' | 'semaphore';
  /** The lock key or the semaphore prefix. */
  readonly key: string;
  /** The fencing token of this holding (on `acquired`). */
  readonly fencingToken?: bigint;
  /** Why it was lost (on `lost`). */
  readonly error?: Error;
  /** How long it was held, in milliseconds (on `released` and `lost`). */
  readonly heldMs?: number;
}

/** Published on the election channels. */
export interface ElectionMessage {
  /** The election key. */
  readonly key: string;
  /** The fencing token of the term (on `elected`). */
  readonly fencingToken?: bigint;
  /** On `revoked`: `lost` (with `error`) or `resigned`. */
  readonly end?: 'lost' | 'resigned';
  readonly error?: Error;
  /** How long the term lasted, in milliseconds (on `revoked`). */
  readonly termMs?: number;
}

/** Published on the registration channels. */
export interface RegistrationMessage {
  /** The service instance ID. */
  readonly serviceId: string;
  /** On `registered`: why. */
  readonly reason?: string;
  /** On `failed`: what failed. */
  readonly error?: unknown;
}

/** The channel objects, created once when this module loads. */
export const channels = Object.freeze({
  requestStart: diagnosticsChannel.channel(CHANNELS.requestStart),
  requestEnd: diagnosticsChannel.channel(CHANNELS.requestEnd),
  watchError: diagnosticsChannel.channel(CHANNELS.watchError),
  lockAcquired: diagnosticsChannel.channel(CHANNELS.lockAcquired),
  lockReleased: diagnosticsChannel.channel(CHANNELS.lockReleased),
  lockLost: diagnosticsChannel.channel(CHANNELS.lockLost),
  electionElected: diagnosticsChannel.channel(CHANNELS.electionElected),
  electionRevoked: diagnosticsChannel.channel(CHANNELS.electionRevoked),
  registrationRegistered: diagnosticsChannel.channel(CHANNELS.registrationRegistered),
  registrationFailed: diagnosticsChannel.channel(CHANNELS.registrationFailed),
});
