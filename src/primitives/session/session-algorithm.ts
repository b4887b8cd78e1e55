/**
 * The contract between the shared parts of a session primitive (the holder, the acquisition
 * loop, the term monitor) and the algorithm a lock or a semaphore supplies: the steps of
 * acquiring, how to read "still held" from the watched data, how to give it back.
 *
 * @packageDocumentation
 */
import type { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import type { KV } from '../../api/kv.js';
import type { SessionBehavior } from '../../api/session.js';
import type { Txn } from '../../api/txn/txn.js';
import type { ClientResource } from '../../client.js';
import type { Telemetry } from '../../observability/telemetry.js';
import type { LockLostError } from '../../errors.js';
import type { CallOptions } from '../../transport/types.js';
import type { Watch } from '../../watch/types.js';
import type { Watches } from '../../watch/watches.js';
import type { KeeperHost } from './session-keeper.js';
import type { ResolvedSessionOptions } from './session-options.js';

/** What the primitives need from the client (structurally, `Consul`). */
export interface PrimitiveHost extends KeeperHost {
  readonly kv: KV;
  readonly txn: Txn;
  readonly watch: Watches;
  /** Registers a resource for `consul.close()`; returns the function that unregisters it. */
  track(resource: ClientResource): () => void;
  /** Where acquisitions are timed and held work is traced (the client's). */
  readonly telemetry?: Telemetry;
}

/** Events of a lock, a semaphore and (through its lock) an election. */
export interface HeldEvents {
  /**
   * Acquired; with the fencing token of this acquisition (for a semaphore: its admission
   * index, which is a fencing token only at limit 1).
   */
  acquired: (fencingToken: bigint) => void;
  /** Lost while held (the signal was aborted with this error first). Not emitted on `release()`. */
  lost: (error: LockLostError) => void;
  /**
   * Released by `release()` (or `close()`, `withLock` finishing, disposal): emitted as soon as
   * Consul confirms the release, before the session is destroyed, so never after another
   * holder's `acquired`.
   */
  released: () => void;
  /** A background failure: a renewal, heartbeat or watch read that failed, a cleanup that failed. */
  error: (error: Error) => void;
}

/** The outcome of one step of an acquisition. */
export type AcquireStep =
  /** Acquired, with this fencing token; `baseline` is the index below which watched data predates it. */
  | { readonly kind: 'held'; readonly token: bigint; readonly baseline: bigint }
  /** Someone else holds it: wait for a change. */
  | { readonly kind: 'blocked' }
  /** This step wrote something (a contender key, an empty coordination key): continue after the change. */
  | { readonly kind: 'progress' }
  /** The attempt was refused: retry after a change, or after `retryAfterMs` when nothing changes (lock-delay). */
  | { readonly kind: 'refused'; readonly retryAfterMs?: number }
  /**
   * A check-and-set lost to another contender's write while a slot looked free: not an
   * answer, even for a one-shot try; retry on the newer data (as Go's one-shot mode does).
   */
  | { readonly kind: 'contended' };

/**
 * What a lock or a semaphore supplies: a plain object over its watched data `W` (the key, or
 * the prefix's entries), built on the pure rules of `lock-state.ts` / `semaphore-state.ts`.
 */
export interface SessionAlgorithm<W> {
  /** What happens to the keys the session holds when it is invalidated. */
  readonly behavior: SessionBehavior;
  /**
   * Whether the session's lock-delay keeps others out after an invalidation (a lock: yes; a
   * semaphore, whose slots are freed by pruning dead holders: no). Decides the default
   * session checks (see `sessionChecks`).
   */
  readonly lockDelayProtects: boolean;
  /** Opens the (shared) watch the acquisition waits on. */
  openWatch(): Watch<W>;
  /**
   * Opens the watch that monitors one acquisition: a loop of its own (its identity includes
   * the session and the fencing token), so its first read is sent after the acquisition and
   * every later change is a change relative to it. A loop shared with earlier observers would
   * compare against what it saw before the acquisition, and could take "deleted again" for
   * "no change".
   */
  openMonitor(session: string, token: bigint): Watch<W>;
  /** Work needed once per session before the first step (the semaphore's contender key). */
  enter(session: string, signal: AbortSignal): Promise<void>;
  /** One step of the algorithm, given the latest watched data. */
  step(value: W, session: string, signal: AbortSignal): Promise<AcquireStep>;
  /** Whether the watched data shows `session` holding it. */
  holds(value: W, session: string): boolean;
  /** The index in the watched data that tells whether it predates an acquisition (compared to its baseline). */
  dataIndex(value: W, watchIndex: bigint | undefined): bigint | undefined;
  /** Why the watched data shows the hold gone, for the `lost` error. */
  lossReason(value: W, session: string): string;
  /** A one-shot read of whether `session` still holds it (used while the watch is failing). */
  verify(session: string, signal: AbortSignal): Promise<boolean>;
  /**
   * Gives up what `session` holds in Consul (before the session is destroyed). Its calls are
   * bounded by {@link releaseTimeoutMs}.
   */
  releaseHeld(session: string): Promise<void>;
}

/** What the holder, the acquisition loop and the term monitor of one primitive share. */
export interface HeldContext {
  readonly host: PrimitiveHost;
  /** `'lock'` or `'semaphore'`, for messages and logs. */
  readonly kind: string;
  /** The key or prefix, for messages and the session's description. */
  readonly target: string;
  readonly settings: ResolvedSessionOptions;
  readonly logger: Logger;
  /** The primitive's events, emitted safely (a throwing listener is reported, never thrown). */
  emit<E extends keyof HeldEvents>(event: E, ...args: EventEmitter.EventArgs<HeldEvents, E>): void;
  /** Reports a background failure on `error`. */
  reportError(error: unknown): void;
}

/**
 * Time bound of each call of a release: short, because it also runs after a loss caused by
 * an unreachable agent, and the session expires on its own anyway.
 */
export function releaseTimeoutMs(settings: ResolvedSessionOptions): number {
  return Math.min(settings.ttlMs, 10_000);
}

/** The options of one call an algorithm makes: the primitive's token, when it has one. */
export function sessionCall(
  settings: ResolvedSessionOptions,
  options: Pick<CallOptions, 'signal' | 'timeout'>,
): CallOptions {
  const token = settings.token;
  return token === undefined ? { ...options } : { ...options, token };
}
