/**
 * consul.election against a real Consul: campaign, leader(), events, resign, re-campaign
 * after a loss, runWhileLeader for cron workers, and several processes that must never show
 * two leaders at once while leaders are killed and resign.
 */
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { ClosedError, LockLostError } from '../../src/index.js';
import { startSlowAnswers } from '../fixtures/lock-slow-answers.js';
import { childrenKilledAfterEach, spawnTs, type TsChild } from '../support/child-process.js';
import { Clients } from '../support/clients.js';
import { sharedConsulAddress, uniquePrefix } from '../support/consul.js';
import { aborted, waitFor } from '../support/wait.js';

const address = sharedConsulAddress();
const clients = new Clients(address);
const children = childrenKilledAfterEach();
afterAll(() => clients.closeAll());

const fast = { ttl: '10s', lockDelay: 0 } as const;

describe('election in one process', () => {
  it('elects one candidate, reports the leader value, and hands over on resign', async () => {
    const k = `${uniquePrefix('elect-basic')}/leader`;
    const a = clients.create().election(k, { ...fast, value: 'node-a' });
    const b = clients.create().election(k, { ...fast, value: 'node-b' });
    const seen: Array<string | undefined> = [];
    b.on('leader', (value) => seen.push(value));
    const events: string[] = [];
    a.on('elected', () => events.push('a:elected'));
    a.on('revoked', (error) => events.push(`a:revoked:${error === undefined ? 'resigned' : 'lost'}`));
    b.on('elected', () => events.push('b:elected'));

    expect(await b.leader()).toBeUndefined();
    await a.campaign();
    expect(a.isLeader).toBe(true);
    expect(await a.leader()).toBe('node-a');
    const bElected = b.campaign();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(b.isLeader).toBe(false);
    expect(await b.leader()).toBe('node-a');

    await a.resign();
    await bElected;
    expect(b.isLeader).toBe(true);
    expect(a.isLeader).toBe(false);
    expect(a.isCandidate).toBe(false);
    await waitFor('the leader event for node-b', () => seen.includes('node-b'), 5_000);
    // No event for the initial vacancy; a vacancy between the two terms may be seen or not.
    expect(seen[0]).toBe('node-a');
    expect(seen.at(-1)).toBe('node-b');
    expect(events).toEqual(['a:elected', 'a:revoked:resigned', 'b:elected']);
    await b.resign();
    expect(await waitFor('no leader', async () => (await a.leader()) === undefined, 5_000)).toBe(true);
  });

  it('a candidate that loses leadership emits revoked and is elected again', async () => {
    const k = `${uniquePrefix('elect-recampaign')}/leader`;
    const consul = clients.create();
    const election = consul.election(k, { ...fast, value: 'solo' });
    await election.campaign();
    const firstToken = election.fencingToken as bigint;
    const revoked = new Promise<LockLostError | undefined>((resolve) => election.once('revoked', resolve));
    const reelected = new Promise<bigint>((resolve) => election.once('elected', resolve));
    await clients.create().kv.delete(k);
    expect(await revoked).toBeInstanceOf(LockLostError);
    const secondToken = await reelected;
    expect(secondToken > firstToken).toBe(true);
    expect(election.isLeader).toBe(true);
    await election.close();
    expect(election.isLeader).toBe(false);
  });

  it('campaign({ signal }) withdraws when aborted; resign() rejects a pending campaign', async () => {
    const k = `${uniquePrefix('elect-abort')}/leader`;
    const leader = clients.create().election(k, fast);
    await leader.campaign();
    const follower = clients.create().election(k, fast);
    const controller = new AbortController();
    const pending = follower.campaign({ signal: controller.signal });
    controller.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
    await waitFor('the candidacy to be withdrawn', () => !follower.isCandidate, 5_000);

    const again = follower.campaign().then(
      () => 'elected',
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await follower.resign();
    expect(await again).toBeInstanceOf(ClosedError);
    await leader.resign();
  });

  it('runWhileLeader runs the job only on the leader and aborts it when leadership is lost', async () => {
    const k = `${uniquePrefix('elect-cron')}/leader`;
    const leader = clients.create().election(k, fast);
    const follower = clients.create().election(k, fast);
    await leader.campaign();
    // Settles either way: the follower may never lead if the old leader wins the re-election.
    const followerCampaign = follower.campaign().then(
      () => 'elected',
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));

    let runs = 0;
    const job = async (): Promise<string> => {
      runs++;
      return 'done';
    };
    expect(await follower.runWhileLeader(job)).toEqual({ ran: false });
    expect(await leader.runWhileLeader(job)).toEqual({ ran: true, result: 'done' });
    expect(runs).toBe(1);

    // Leadership lost mid-job: the job's signal aborts and the run rejects.
    const outcome = leader.runWhileLeader(async (signal) => {
      const session = (await clients.create().kv.get(k))?.Session as string;
      await clients.create().session.destroy(session);
      await aborted(signal, 5_000);
      return 'too late';
    });
    await expect(outcome).rejects.toBeInstanceOf(LockLostError);
    // Both stay candidates (a deposed leader campaigns again), so either may win the next
    // term, but one of them must, and never both.
    await waitFor('a new leader', () => leader.isLeader || follower.isLeader, 10_000);
    expect(leader.isLeader && follower.isLeader).toBe(false);
    await Promise.all([leader.close(), follower.close()]);
    const campaign = await followerCampaign;
    expect(campaign === 'elected' || campaign instanceof ClosedError).toBe(true);
  });
});

describe('election across processes', () => {
  it('never shows two leaders at once while leaders are killed and resign', async () => {
    const k = `${uniquePrefix('elect-procs')}/leader`;
    const env = { CONSUL_HTTP_ADDR: address, ELECTION_KEY: k, FAST: '1', CONSULKIT_LOG_LEVEL: 'error' };
    const spawnWorker = (name: string): TsChild => {
      const child = spawnTs('test/fixtures/lock-election-worker.ts', { ...env, NAME: name });
      children.push(child);
      return child;
    };
    const workers = new Map<string, TsChild>();
    for (const name of ['w1', 'w2', 'w3']) workers.set(name, spawnWorker(name));
    await Promise.all([...workers.values()].map((worker) => worker.line('READY', 60_000)));

    interface Term {
      name: string;
      token: bigint;
      start: number;
      end?: number;
    }
    const terms: Term[] = [];
    const seen = new Set<string>();
    /** Collects ELECTED/REVOKED lines from every worker into terms. */
    const collect = (): void => {
      for (const [name, worker] of workers) {
        for (const line of worker.lines) {
          const id = `${name}:${line}`;
          if (seen.has(id)) continue;
          seen.add(id);
          const [kind, , token, at] = line.split(' ');
          if (kind === 'ELECTED') terms.push({ name, token: BigInt(token as string), start: Number(at) });
          if (kind === 'REVOKED') {
            const open = terms.find((term) => term.name === name && term.end === undefined);
            if (open) open.end = Number(token);
          }
        }
      }
    };
    const currentLeader = (): Term | undefined => {
      collect();
      return terms.find((term) => term.end === undefined);
    };

    let counter = 3;
    for (const action of ['kill', 'resign', 'kill', 'resign']) {
      const leader = await waitFor('a leader', () => currentLeader(), 30_000);
      const worker = workers.get(leader.name) as TsChild;
      if (action === 'kill') {
        // The process can lead until it dies; its term ends no later than now.
        leader.end = Date.now();
        worker.child.kill('SIGKILL');
        await worker.exited;
      } else {
        worker.child.kill('SIGTERM');
        await worker.line('RESIGNED', 15_000);
        await worker.exited;
        collect();
        expect(leader.end).toBeDefined();
      }
      workers.delete(leader.name);
      counter++;
      workers.set(`w${counter}`, spawnWorker(`w${counter}`));
      // Wait for the next leader before the next action, so that terms follow each other.
      await waitFor(
        'the next leader',
        () => {
          const next = currentLeader();
          return next !== undefined && next.name !== leader.name ? next : undefined;
        },
        30_000,
      );
    }
    collect();
    expect(terms.length).toBeGreaterThanOrEqual(5);
    const ordered = [...terms].sort((a, b) => (a.token < b.token ? -1 : 1));
    for (let i = 1; i < ordered.length; i++) {
      const previous = ordered[i - 1] as Term;
      const next = ordered[i] as Term;
      // Strictly increasing tokens, and each term ended before the next began.
      expect(next.token > previous.token).toBe(true);
      expect(previous.end).toBeDefined();
      expect(previous.end as number).toBeLessThanOrEqual(next.start);
    }
  }, 120_000);
});

describe('election: races between callers', () => {
  it("one caller's aborted campaign({ signal }) leaves another caller's campaign running", async () => {
    const k = `${uniquePrefix('elect-two-callers')}/leader`;
    const leader = clients.create().election(k, fast);
    await leader.campaign();
    const candidate = clients.create().election(k, fast);
    const plain = candidate.campaign();
    const controller = new AbortController();
    const withSignal = candidate.campaign({ signal: controller.signal });
    controller.abort(new Error('this caller gives up'));
    await expect(withSignal).rejects.toThrow('this caller gives up');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(candidate.isCandidate).toBe(true);
    await leader.resign();
    await plain;
    expect(candidate.isLeader).toBe(true);
    await candidate.resign();
  });

  it('void resign(); await campaign(); await resign() settles and leaves no leader', async () => {
    const k = `${uniquePrefix('elect-resign-window')}/leader`;
    // Session destroys answered 1 s late: the first resign is still running when the second
    // campaign wins (the window of the race).
    const relay = await startSlowAnswers(address);
    relay.slow((method, path) => method === 'PUT' && path.startsWith('/v1/session/destroy/'), 1_000);
    onTestFinished(() => relay.close());
    const election = clients.create({ address: relay.url }).election(k, fast);
    await election.campaign();
    const first = election.resign();
    await election.campaign();
    expect(election.isLeader).toBe(true);
    const settled = await Promise.race([
      election.resign().then(() => 'settled'),
      new Promise((resolve) => setTimeout(() => resolve('hung'), 10_000)),
    ]);
    expect(settled).toBe('settled');
    await first;
    expect(election.isLeader).toBe(false);
    expect((await clients.create().kv.get(k))?.Session).toBeUndefined();
  }, 30_000);
});
