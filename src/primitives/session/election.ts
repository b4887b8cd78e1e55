/**
 * `consul.election(key)`: leader election over a {@link Lock}, as in Consul's
 * application-leader-election guide: the leader is the holder of the key, and the key's value
 * is the leader's value.
 *
 * @packageDocumentation
 */
import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import type { KVPair, KVValue } from '../../api/kv.js';
import type { ClientResource } from '../../client.js';
import { ClosedError, ConflictError, LockLostError, ValidationError } from '../../errors.js';
import { asError, safeEmit } from '../../safe-emit.js';
import type { Watch } from '../../watch/types.js';
import { describeFlags, LOCK_FLAGS } from './key-flags.js';
import {
  checkSessionOptionKeys,
  primitiveWatchOptions,
  resolveValue,
  SESSION_OPTION_KEYS,
  type SessionOptions,
} from './session-options.js';
import { checkOptionKeys, optionKeys } from '../../options-check.js';
import { Lock } from './lock.js';
import type { PrimitiveHost } from './session-algorithm.js';

/** Options of {@link Consul.election}. */
export interface ElectionOptions extends SessionOptions {
  /** This candidate's value, which {@link Election.leader} returns while it leads (e.g. its address). Default: empty. */
  value?: KVValue;
}

/** Every key of {@link ElectionOptions}. */
export const ELECTION_OPTION_KEYS = optionKeys<ElectionOptions>()([...SESSION_OPTION_KEYS, 'value']);

/** Options of {@link Election.campaign}. */
export interface CampaignOptions {
  /**
   * Stops this caller's wait when aborted before this process is elected. The candidacy is
   * withdrawn too only when nothing else counts on it: no other `campaign()` is waiting, and
   * it has not won a term yet (a caller told it leads expects it to continue).
   */
  signal?: AbortSignal;
}

/** Options of {@link Election.runWhileLeader}. */
export interface RunWhileLeaderOptions {
  /** Also aborts the job's signal. */
  signal?: AbortSignal;
}

/** Every key of {@link CampaignOptions}. */
export const CAMPAIGN_OPTION_KEYS = optionKeys<CampaignOptions>()(['signal']);

/** Every key of {@link RunWhileLeaderOptions}. */
export const RUN_WHILE_LEADER_OPTION_KEYS = optionKeys<RunWhileLeaderOptions>()(['signal']);

/** The outcome of {@link Election.runWhileLeader}. */
export type LeaderRun<T> = { readonly ran: false } | { readonly ran: true; readonly result: T };

/** Events of an {@link Election}. */
export interface ElectionEvents {
  /** This process became the leader; with the fencing token of this term. */
  elected: (fencingToken: bigint) => void;
  /** This process stopped leading: with the `LockLostError` when leadership was lost, `undefined` after `resign()`. */
  revoked: (error: LockLostError | undefined) => void;
  /** The leader changed: the new leader's value, or `undefined` while there is none. */
  leader: (value: string | undefined) => void;
  /** A background failure (renewal, watch, a campaign that cannot go on). */
  error: (error: Error) => void;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/** One candidacy, from the `campaign()` that started it to `resign()` (or its failure). */
interface Candidacy {
  readonly control: AbortController;
  done: Promise<void>;
  /** Whether it has won a term: some caller was then told it leads, and counts on it continuing. */
  elected: boolean;
}

function leaderOf(pair: KVPair | undefined): { session: string; value: string } | undefined {
  if (pair === undefined || !pair.Session) return undefined;
  return { session: pair.Session, value: pair.Value.toString('utf8') };
}

/**
 * Leader election among processes (`consul.election(key, { value })`).
 *
 * A candidate stays in the race from `campaign()` until `resign()`: when it loses leadership
 * (its session expired, the key was deleted…) it emits `revoked` and campaigns again on its
 * own. Two processes never lead at once as long as each stops when its signal aborts (the
 * guarantee of {@link Lock}); the fencing token of each term is larger than the previous
 * one's.
 *
 * For cron workers: every worker campaigns once at start, and each tick runs
 * `runWhileLeader(job)`, which runs the job only on the leader and aborts its signal if
 * leadership is lost mid-job.
 *
 * ACL policy (exact): as {@link Lock}, `key "<key>" { policy = "write" }` and
 * `session "<node>" { policy = "write" }`; observers that only call `leader()` need
 * `key "<key>" { policy = "read" }`.
 *
 * @example
 * ```ts
 * const election = consul.election('service/report/leader', { value: os.hostname() });
 * election.on('leader', (who) => log.info({ who }, 'leader changed'));
 * election.campaign().catch((error) => log.error(error));
 * cron.schedule('* * * * *', () => election.runWhileLeader((signal) => report(signal)));
 * ```
 */
export class Election extends EventEmitter<ElectionEvents> implements ClientResource, AsyncDisposable {
  /** The Consul key, exactly as given. */
  readonly key: string;
  readonly #host: PrimitiveHost;
  readonly #lock: Lock;
  readonly #logger: Logger;
  readonly #token: string | undefined;
  readonly #value: string;
  #candidacy: Candidacy | undefined;
  /** The campaign loop that ran last; a new one starts only after it has ended. */
  #lastLoop: Promise<void> = Promise.resolve();
  readonly #waiters = new Set<Waiter>();
  #observer: Watch<KVPair | undefined> | undefined;
  #leader: { session: string; value: string } | undefined;
  #untrack: (() => void) | undefined;
  #closed = false;

  /**
   * @internal Use `consul.election(key, options)`.
   * @throws ValidationError for a bad key or options
   */
  constructor(host: PrimitiveHost, key: string, options: ElectionOptions = {}) {
    checkSessionOptionKeys(options, ELECTION_OPTION_KEYS, 'election()');
    if (options === null || typeof options !== 'object')
      throw new ValidationError('options', 'must be an object');
    super();
    this.#host = host;
    this.#lock = new Lock(host, key, { sessionName: `consulkit election ${key}`, ...options });
    this.key = key;
    this.#value = resolveValue(options.value).toString('utf8');
    this.#token = options.token;
    this.#logger = host.logger.child({ primitive: 'election', key });
    this.#lock.on('error', (error) => this.#emit('error', error));
  }

  /** Whether this process leads now. */
  get isLeader(): boolean {
    return this.#lock.held;
  }

  /** Whether a candidacy is running (between `campaign()` and `resign()`). */
  get isCandidate(): boolean {
    return this.#candidacy !== undefined;
  }

  /** Aborted when the current term ends (lost, or resigned); see {@link Lock.signal}. */
  get signal(): AbortSignal {
    return this.#lock.signal;
  }

  /** Fencing token of the current term; `undefined` when not leading. */
  get fencingToken(): bigint | undefined {
    return this.#lock.fencingToken;
  }

  /**
   * Enters the race (if not in it already) and resolves once this process leads. The
   * candidacy continues after a loss of leadership, until {@link Election.resign}.
   *
   * @throws the signal's reason when aborted first (only this call is affected; see
   *   {@link CampaignOptions.signal})
   * @throws ClosedError when `resign()` or `close()` is called first
   * @throws ConflictError when the key belongs to something else, PermissionDeniedError
   *   without the ACL rights: the candidacy ends
   */
  async campaign(options: CampaignOptions = {}): Promise<void> {
    checkOptionKeys(options, CAMPAIGN_OPTION_KEYS, 'campaign()');
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new ValidationError('signal', 'must be an AbortSignal');
    }
    if (this.#closed) throw new ClosedError('the election was closed');
    signal?.throwIfAborted();
    this.#observe();
    if (this.isLeader) return;
    const candidacy = (this.#candidacy ??= this.#startCandidacy());
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.delete(waiter);
        reject(signal?.reason);
        this.#withdrawIfUnwanted(candidacy);
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Leaves the race: stops campaigning and, when leading, aborts the term's signal and
   * releases the key (so another candidate is elected at once). Idempotent.
   */
  async resign(): Promise<void> {
    await this.#withdraw();
  }

  /**
   * The current leader's value (the key's value while a session holds it), or `undefined`
   * when nobody leads. Reads through the shared watcher, so it is cheap to call often.
   *
   * @throws ConflictError when the key belongs to something else
   */
  async leader(): Promise<string | undefined> {
    if (this.#closed) throw new ClosedError('the election was closed');
    // Our own term is known first-hand; the watch may not have caught up with it yet.
    if (this.isLeader) return this.#value;
    const pair = await this.#observe().ready();
    if (pair !== undefined && pair.Flags !== LOCK_FLAGS) {
      throw new ConflictError(`${this.key} holds ${describeFlags(pair.Flags)}, not an election`);
    }
    return leaderOf(pair)?.value;
  }

  /**
   * Runs `job` only if this process leads now, with a signal that aborts when the term ends
   * (or `options.signal` aborts). Resolves `{ ran: false }` without running it otherwise.
   *
   * @throws the job's error; the `LockLostError` when leadership was lost before the job
   *   settled (the job may have run partly as a non-leader)
   */
  async runWhileLeader<T>(
    job: (signal: AbortSignal) => Promise<T> | T,
    options: RunWhileLeaderOptions = {},
  ): Promise<LeaderRun<T>> {
    if (typeof job !== 'function') throw new ValidationError('job', 'must be a function');
    checkOptionKeys(options, RUN_WHILE_LEADER_OPTION_KEYS, 'runWhileLeader()');
    if (!this.isLeader) return { ran: false };
    const term = this.#lock.signal;
    const signal = options.signal === undefined ? term : AbortSignal.any([term, options.signal]);
    const telemetry = this.#host.telemetry;
    const result = await (telemetry?.tracesEnabled === true
      ? telemetry.inSpan('consulkit.leader', this.key, this.fencingToken, async () => job(signal))
      : job(signal));
    if (term.reason instanceof LockLostError) throw term.reason;
    return { ran: true, result };
  }

  /** Resigns and stops observing. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const failures: unknown[] = [];
    try {
      await this.resign();
    } catch (error) {
      failures.push(error);
    }
    const observer = this.#observer;
    this.#observer = undefined;
    await observer?.close();
    this.#untrack?.();
    this.#untrack = undefined;
    await this.#lock.close();
    if (failures.length > 0) throw failures[0];
  }

  /** Same as {@link Election.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #startCandidacy(): Candidacy {
    this.#untrack ??= this.#host.track(this);
    const candidacy: Candidacy = { control: new AbortController(), done: Promise.resolve(), elected: false };
    const previous = this.#lastLoop;
    // A withdrawn candidacy may still be cancelling its acquisition: let it finish first.
    candidacy.done = previous.then(() => this.#campaignLoop(candidacy));
    this.#lastLoop = candidacy.done;
    return candidacy;
  }

  /** After a caller's campaign was aborted: withdraws `candidacy` when nothing else counts on it. */
  #withdrawIfUnwanted(candidacy: Candidacy): void {
    if (this.#candidacy !== candidacy || candidacy.elected || this.#waiters.size > 0 || this.isLeader) return;
    this.#withdraw().catch((error: unknown) => {
      this.#logger.error({ err: error }, 'consulkit: withdrawing the candidacy failed');
      this.#emitError(error);
    });
  }

  async #campaignLoop(candidacy: Candidacy): Promise<void> {
    const control = candidacy.control.signal;
    while (!control.aborted) {
      try {
        await this.#lock.acquire({ signal: control });
      } catch (error) {
        if (control.aborted) break;
        // acquire() retries transient failures itself: what reaches here ends the candidacy
        // (a conflict, missing ACL rights, the lock closed with the client).
        if (!(error instanceof ClosedError)) {
          this.#logger.error({ err: error }, 'consulkit: the campaign cannot continue');
          this.#emitError(error);
        }
        if (this.#candidacy === candidacy) this.#candidacy = undefined;
        this.#rejectWaiters(error);
        return;
      }
      const term = this.#lock.signal;
      const token = this.#lock.fencingToken;
      if (token !== undefined && !term.aborted) {
        candidacy.elected = true;
        for (const waiter of [...this.#waiters]) waiter.resolve();
        this.#waiters.clear();
        this.#emit('elected', token);
      }
      // Reported from the abort itself: before the key is released, so before anyone else
      // can be elected.
      await new Promise<void>((resolve) => {
        const ended = (): void => {
          const reason: unknown = term.reason;
          this.#emit('revoked', reason instanceof LockLostError ? reason : undefined);
          resolve();
        };
        if (term.aborted) ended();
        else term.addEventListener('abort', ended, { once: true });
      });
      // A loss keeps the candidate in the race; a release (resign, close) ends it.
      if (!(term.reason instanceof LockLostError)) break;
    }
  }

  async #withdraw(): Promise<void> {
    const candidacy = this.#candidacy;
    this.#candidacy = undefined;
    candidacy?.control.abort(new ClosedError('the candidacy was withdrawn'));
    this.#rejectWaiters(new ClosedError('the election was resigned before this process was elected'));
    try {
      await this.#lock.release();
    } finally {
      await candidacy?.done;
      if (this.#observer === undefined) {
        this.#untrack?.();
        this.#untrack = undefined;
      }
    }
  }

  #rejectWaiters(error: unknown): void {
    for (const waiter of [...this.#waiters]) waiter.reject(error);
    this.#waiters.clear();
  }

  #observe(): Watch<KVPair | undefined> {
    if (this.#observer !== undefined) return this.#observer;
    const watch = this.#host.watch.key(this.key, primitiveWatchOptions(this.#token));
    this.#untrack ??= this.#host.track(this);
    watch.on('change', (pair) => {
      const next = leaderOf(pair);
      const previous = this.#leader;
      if (next?.session === previous?.session && next?.value === previous?.value) return;
      this.#leader = next;
      this.#emit('leader', next?.value);
    });
    watch.on('error', (error) => this.#emit('error', error));
    this.#observer = watch;
    return watch;
  }

  #emitError(error: unknown): void {
    this.#emit('error', asError(error));
  }

  #emit<E extends keyof ElectionEvents>(event: E, ...args: EventEmitter.EventArgs<ElectionEvents, E>): void {
    safeEmit<ElectionEvents, E>(this, this.#logger, 'election', event, ...args);
  }
}
