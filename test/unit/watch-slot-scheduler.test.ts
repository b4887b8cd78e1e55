import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PreemptedError,
  SlotScheduler,
  turnWaitMs,
  worstCaseDelayMs,
  type Turn,
} from '../../src/watch/slot-scheduler.js';

const OPTIONS = { targetDelayMs: 2000, minWaitMs: 1000 };

describe('turnWaitMs', () => {
  it('keeps the full wait while loops fit in the slots', () => {
    expect(turnWaitMs(24, 24, 60_000, OPTIONS)).toBe(60_000);
  });

  it('shortens the wait when oversubscribed, never below minWait nor above the asked wait', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1000, max: 600_000 }),
        (members, slots, maxWait) => {
          const wait = turnWaitMs(members, slots, maxWait, OPTIONS);
          expect(wait).toBeLessThanOrEqual(maxWait);
          if (members > slots) expect(wait).toBeGreaterThanOrEqual(Math.min(maxWait, OPTIONS.minWaitMs));
        },
      ),
    );
  });

  it('bounds the delay to about two target delays up to slots × target / minWait loops', () => {
    // 50 loops (20 folder reads + 30 services) on 24 slots: 3 rounds of 0.96 s → ~3.1 s.
    expect(worstCaseDelayMs(50, 24, 60_000, OPTIONS)).toBeLessThanOrEqual(5000);
    expect(worstCaseDelayMs(24, 24, 60_000, OPTIONS)).toBe(0);
  });
});

describe('SlotScheduler', () => {
  it('grants at once while slots are free, and queues first-in first-out beyond', async () => {
    const scheduler = new SlotScheduler({ slots: 2, ...OPTIONS });
    const a = await scheduler.acquire(60_000);
    const b = await scheduler.acquire(60_000);
    const order: string[] = [];
    const c = scheduler.acquire(60_000).then((turn) => (order.push('c'), turn));
    const d = scheduler.acquire(60_000).then((turn) => (order.push('d'), turn));
    await Promise.resolve();
    expect(scheduler.stats).toMatchObject({ held: 2, queued: 2 });
    a.release();
    b.release();
    await Promise.all([c, d]);
    expect(order).toEqual(['c', 'd']);
  });

  it('gives every member a turn within ceil(L/S) turns (no loop starves)', async () => {
    const slots = 3;
    const members = 10;
    const scheduler = new SlotScheduler({ slots, ...OPTIONS });
    for (let i = 0; i < members; i++) scheduler.join();
    const turnsOf = new Array<number>(members).fill(0);
    const held: Turn[] = [];
    const pending = Array.from({ length: members }, (_, i) =>
      scheduler.acquire(60_000).then((turn) => {
        turnsOf[i] = (turnsOf[i] ?? 0) + 1;
        held.push(turn);
      }),
    );
    // Each round releases every held turn; after ceil(10/3) = 4 rounds everyone had one.
    for (let round = 0; round < Math.ceil(members / slots); round++) {
      await new Promise((resolve) => setImmediate(resolve));
      for (const turn of held.splice(0)) turn.release();
    }
    await Promise.all(pending);
    expect(turnsOf.every((count) => count === 1)).toBe(true);
  });

  it('serves waiting loops first even when each holder asks again as soon as it releases', async () => {
    const slots = 2;
    const members = 5;
    const scheduler = new SlotScheduler({ slots, ...OPTIONS });
    const grants: number[] = [];
    let stop = false;
    const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const runners = Array.from({ length: members }, async (_, i) => {
      while (!stop) {
        const turn = await scheduler.acquire(60_000);
        grants.push(i);
        await tick();
        turn.release();
      }
    });
    while (grants.length < 60) await tick();
    stop = true;
    await Promise.all(runners);
    // A member that re-queues goes behind everyone already waiting: between two of its
    // turns, every other member had one, so no gap exceeds the number of members.
    for (let member = 0; member < members; member++) {
      const at = grants.flatMap((who, position) => (who === member ? [position] : []));
      expect(at.length).toBeGreaterThan(5);
      for (let k = 1; k < at.length; k++)
        expect((at[k] ?? 0) - (at[k - 1] ?? 0)).toBeLessThanOrEqual(members);
    }
  });

  it('comes back to preempt a read that was too young when a loop queued', async () => {
    const fresh = new SlotScheduler({ slots: 1, targetDelayMs: 100, minWaitMs: 50 });
    fresh.join();
    const long = await fresh.acquire(60_000);
    expect(long.waitMs).toBe(60_000);
    fresh.join();
    const started = performance.now();
    const next = fresh.acquire(60_000);
    // Too young to preempt at once; the scheduler must come back without another acquire.
    expect(long.signal.aborted).toBe(false);
    await new Promise<void>((resolve) =>
      long.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    expect(long.signal.reason).toBeInstanceOf(PreemptedError);
    expect(performance.now() - started).toBeLessThan(5000);
    long.release();
    const turn = await next;
    expect(turn.waitMs).toBe(50);
    turn.release();
    fresh.close();
  });

  it('preempts a long read when new loops make it unfair, and only then', async () => {
    let now = 0;
    const scheduler = new SlotScheduler({ slots: 1, ...OPTIONS }, () => now);
    const leaveA = scheduler.join();
    const a = await scheduler.acquire(60_000);
    expect(a.waitMs).toBe(60_000);
    scheduler.join();
    now = 500; // under the fair turn (2000 × 1/2 = 1000 ms): not preempted yet
    const b = scheduler.acquire(60_000);
    expect(a.signal.aborted).toBe(false);
    now = 1500;
    const c = scheduler.acquire(60_000, AbortSignal.timeout(10_000));
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toBeInstanceOf(PreemptedError);
    a.release();
    const turnB = await b;
    expect(turnB.waitMs).toBe(1000);
    turnB.release();
    (await c).release();
    leaveA();
  });

  it('a waiter whose signal aborts leaves the queue', async () => {
    const scheduler = new SlotScheduler({ slots: 1, ...OPTIONS });
    const a = await scheduler.acquire(60_000);
    const controller = new AbortController();
    const waiting = scheduler.acquire(60_000, controller.signal);
    controller.abort(new Error('closed'));
    await expect(waiting).rejects.toThrow('closed');
    expect(scheduler.stats.queued).toBe(0);
    a.release();
    expect(scheduler.stats.held).toBe(0);
  });

  it('shrinking the slots holds new grants until enough turns are released', async () => {
    const scheduler = new SlotScheduler({ slots: 3, ...OPTIONS });
    const turns = await Promise.all([
      scheduler.acquire(1000),
      scheduler.acquire(1000),
      scheduler.acquire(1000),
    ]);
    scheduler.setSlots(1);
    const next = scheduler.acquire(1000);
    turns[0]?.release();
    turns[1]?.release();
    await Promise.resolve();
    expect(scheduler.stats.queued).toBe(1);
    turns[2]?.release();
    (await next).release();
    expect(scheduler.stats).toMatchObject({ held: 0, queued: 0, slots: 1 });
  });
});

describe('SlotScheduler.gate (blocking reads made outside the watches)', () => {
  it('a read takes a turn as one more member while it waits and runs, and leaves with its release', async () => {
    const scheduler = new SlotScheduler({ slots: 1, ...OPTIONS });
    const leave = scheduler.join();
    const loopTurn = await scheduler.acquire(60_000);
    const pending = scheduler.gate.acquire(60_000, undefined);
    // Two members on one slot: the read waits, and counts toward the shorter turns.
    expect(scheduler.stats).toMatchObject({ held: 1, queued: 1, members: 2 });
    loopTurn.release();
    const turn = await pending;
    expect(turn.waitMs).toBe(turnWaitMs(2, 1, 60_000, OPTIONS));
    expect(scheduler.stats).toMatchObject({ held: 1, queued: 0, members: 2 });
    turn.release();
    turn.release();
    expect(scheduler.stats).toMatchObject({ held: 0, queued: 0, members: 1 });
    leave();
  });

  it('a read aborted while waiting for a turn rejects with its reason and takes and releases nothing', async () => {
    const scheduler = new SlotScheduler({ slots: 1, ...OPTIONS });
    const holder = await scheduler.acquire(60_000);
    const controller = new AbortController();
    const pending = scheduler.gate.acquire(60_000, controller.signal);
    const reason = new Error('the caller gave up');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(scheduler.stats).toMatchObject({ held: 1, queued: 0, members: 0 });
    // The slot is still the holder's; once released, the next read gets it at once.
    holder.release();
    const next = await scheduler.gate.acquire(60_000, undefined);
    expect(scheduler.stats).toMatchObject({ held: 1, members: 1 });
    next.release();
    expect(scheduler.stats).toMatchObject({ held: 0, queued: 0, members: 0 });
  });

  it('an already-aborted read joins nothing', async () => {
    const scheduler = new SlotScheduler({ slots: 1, ...OPTIONS });
    const reason = new Error('before asking');
    await expect(scheduler.gate.acquire(60_000, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(scheduler.stats).toMatchObject({ held: 0, queued: 0, members: 0 });
  });

  it("knows the reads sent in a granted turn (a watch's own) by their signal, and no other", async () => {
    const scheduler = new SlotScheduler({ slots: 2, ...OPTIONS });
    const own = new AbortController();
    const turn = await scheduler.acquire(60_000);
    const inTurn = turn.signalFor(own.signal);
    expect(scheduler.gate.holdsTurn(inTurn)).toBe(true);
    expect(scheduler.gate.holdsTurn(own.signal)).toBe(false);
    expect(scheduler.gate.holdsTurn(undefined)).toBe(false);
    expect(scheduler.gate.holdsTurn(new AbortController().signal)).toBe(false);
    // The read's signal follows both the caller and the turn.
    own.abort(new Error('caller'));
    expect(inTurn.aborted).toBe(true);
    const other = (await scheduler.acquire(60_000)).signalFor(undefined);
    expect(scheduler.gate.holdsTurn(other)).toBe(true);
    turn.release();
  });
});
