/**
 * Contenders of the nemesis test: each loops acquire → hold a random short time → release
 * on one primitive through one agent, and records every hold from its own view.
 */
import type { LockOptions } from '../../src/index.js';
import { Consul } from '../../src/index.js';
import type { Hold, PrimitiveKind } from './history.js';
import type { Prng } from './prng.js';

/** Where a contender connects and what it contends for. */
export interface ContenderSpec {
  id: string;
  primitive: PrimitiveKind;
  node: string;
  address: string;
  key: string;
  /** Session options of a lock contender (the nemesis self-test makes them unsafe). */
  lockOptions?: LockOptions;
  /** How long a hold lasts before the contender releases, [min, max] ms. Default [100, 1500]. */
  holdMs?: readonly [number, number];
}

/** Shared recording state of a run. */
export interface Recorder {
  holds: Hold[];
  /** Errors of acquire/release by `primitive:name`, counted, never dropped silently. */
  errors: Map<string, number>;
  /** Contenders currently holding, by node, for the nemesis's "delay a holder" fault. */
  holdingNodes(): string[];
}

const now = (): number => performance.now();

/** Resolves after `ms` or when `signal` aborts, whichever comes first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The parts of a lock, semaphore or election the loop needs, behind one shape. */
interface Holdable {
  acquire(stop: AbortSignal): Promise<void>;
  signal(): AbortSignal;
  token(): bigint | undefined;
  release(): Promise<void>;
  close(): Promise<void>;
}

function holdable(consul: Consul, spec: ContenderSpec): Holdable {
  if (spec.primitive === 'election') {
    const election = consul.election(spec.key, { value: spec.id });
    return {
      acquire: (stop) => election.campaign({ signal: stop }),
      signal: () => election.signal,
      token: () => election.fencingToken,
      release: () => election.resign(),
      close: () => election.close(),
    };
  }
  const primitive =
    spec.primitive === 'lock'
      ? consul.lock(spec.key, { ...spec.lockOptions, value: spec.id })
      : consul.semaphore(spec.key, { limit: 2, value: spec.id });
  return {
    acquire: async (stop) => {
      await primitive.acquire({ signal: stop, timeout: 30_000 });
    },
    signal: () => primitive.signal,
    token: () => primitive.fencingToken,
    release: () => primitive.release(),
    close: () => primitive.close(),
  };
}

/** Runs one contender until `stop` aborts. */
export async function runContender(
  spec: ContenderSpec,
  rng: Prng,
  recorder: Recorder,
  stop: AbortSignal,
  holding: Set<ContenderSpec>,
): Promise<void> {
  const consul = new Consul({ address: spec.address });
  const count = (what: string, error: unknown): void => {
    const name = `${spec.primitive}:${what}:${(error as Error)?.name ?? 'Error'}`;
    recorder.errors.set(name, (recorder.errors.get(name) ?? 0) + 1);
  };
  const target = holdable(consul, spec);
  try {
    while (!stop.aborted) {
      try {
        await target.acquire(stop);
      } catch (error) {
        if (stop.aborted) break;
        count('acquire', error);
        await pause(rng.between(200, 1000), stop);
        continue;
      }
      const hold: Hold = {
        primitive: spec.primitive,
        contender: spec.id,
        node: spec.node,
        start: now(),
        end: undefined,
        token: target.token(),
        how: 'open',
      };
      recorder.holds.push(hold);
      const lost = target.signal();
      // The loss is timed by the holder's own code, the moment its signal fires.
      const onLost = (): void => {
        if (hold.end === undefined) {
          hold.end = now();
          hold.how = 'lost';
        }
      };
      if (lost.aborted) onLost();
      else lost.addEventListener('abort', onLost, { once: true });
      holding.add(spec);
      const [holdMin, holdMax] = spec.holdMs ?? [100, 1500];
      await pause(rng.between(holdMin, holdMax), lost.aborted ? stop : AbortSignal.any([stop, lost]));
      holding.delete(spec);
      lost.removeEventListener('abort', onLost);
      if (hold.end === undefined) {
        if (stop.aborted) break; // still held at the end of the run: stays open
        hold.end = now();
        hold.how = 'released';
      }
      try {
        await target.release();
      } catch (error) {
        count('release', error);
      }
      await pause(rng.between(0, 300), stop);
    }
  } finally {
    holding.delete(spec);
    try {
      await target.close();
    } catch (error) {
      count('close', error);
    }
    try {
      await consul.close();
    } catch (error) {
      count('client-close', error);
    }
  }
}
