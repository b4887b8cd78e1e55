import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { folderOf, loopDemand, planCoalescing } from '../../src/watch/coalesce-plan.js';

const folderCounts = fc
  .array(fc.integer({ min: 1, max: 60 }), { maxLength: 30 })
  .map((counts) => new Map(counts.map((count, i) => [`f${i}/`, count])));

describe('planCoalescing', () => {
  it('coalesces nothing while every key fits in a slot of its own', () => {
    const folders = new Map([
      ['a/', 10],
      ['b/', 10],
    ]);
    expect(planCoalescing({ folders, others: 4, slots: 24, current: new Set() }).size).toBe(0);
  });

  it("fits the issue's workload: 20 folders × 50 keys + 30 services on 24 slots → 20 folder reads", () => {
    const folders = new Map(Array.from({ length: 20 }, (_, i) => [`app/f${i}/`, 50]));
    const plan = planCoalescing({ folders, others: 30, slots: 24, current: new Set() });
    expect(plan.size).toBe(20);
    expect(loopDemand({ folders, others: 30 }, plan)).toBe(50);
  });

  it('coalesces only as many folders as needed, largest first', () => {
    const folders = new Map([
      ['a/', 10],
      ['b/', 3],
      ['c/', 2],
    ]);
    const plan = planCoalescing({ folders, others: 0, slots: 8, current: new Set() });
    expect([...plan]).toEqual(['a/']);
  });

  it('within the slots whenever coalescing every candidate can fit; never a folder of one key', () => {
    fc.assert(
      fc.property(
        folderCounts,
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 64 }),
        (folders, others, slots) => {
          const plan = planCoalescing({ folders, others, slots, current: new Set() });
          const all = new Set([...folders].filter(([, n]) => n >= 2).map(([f]) => f));
          if (loopDemand({ folders, others }, all) <= slots) {
            expect(loopDemand({ folders, others }, plan)).toBeLessThanOrEqual(slots);
          }
          for (const folder of plan) expect(folders.get(folder)).toBeGreaterThanOrEqual(2);
        },
      ),
    );
  });

  it('keeps groups until the demand drops to 3/4 of the slots (no thrashing at the boundary)', () => {
    fc.assert(
      fc.property(
        folderCounts,
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 4, max: 64 }),
        (folders, others, slots) => {
          const first = planCoalescing({ folders, others, slots, current: new Set() });
          // Replanning with the same input changes nothing.
          expect(planCoalescing({ folders, others, slots, current: first })).toEqual(first);
          const uncoalesced = loopDemand({ folders, others }, new Set());
          const again = planCoalescing({ folders, others, slots, current: first });
          if (first.size > 0 && uncoalesced > Math.floor((slots * 3) / 4))
            expect(again.size).toBeGreaterThan(0);
          if (uncoalesced <= Math.floor((slots * 3) / 4)) expect(again.size).toBe(0);
        },
      ),
    );
  });

  it('one watch more and one fewer at the boundary does not flip the groups back', () => {
    const slots = 24;
    const folders = new Map([['a/', 25]]);
    const grouped = planCoalescing({ folders, others: 0, slots, current: new Set() });
    expect([...grouped]).toEqual(['a/']);
    folders.set('a/', 24);
    expect([...planCoalescing({ folders, others: 0, slots, current: grouped })]).toEqual(['a/']);
    folders.set('a/', 18);
    expect(planCoalescing({ folders, others: 0, slots, current: grouped }).size).toBe(0);
  });
});

describe('folderOf', () => {
  it('is the path up to the last slash; top-level keys have none', () => {
    expect(folderOf('app/db/url')).toBe('app/db/');
    expect(folderOf('flag')).toBeUndefined();
    expect(folderOf('/odd')).toBeUndefined();
  });
});
