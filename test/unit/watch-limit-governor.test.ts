import { describe, expect, it } from 'vitest';
import { LimitGovernor, type SlotTarget } from '../../src/watch/limit-governor.js';
import { memoryLogger } from '../support/logging.js';

function target(slots: number, held: number): SlotTarget & { slots: number; held: number } {
  return {
    slots,
    held,
    setSlots(next: number) {
      this.slots = next;
    },
  };
}

describe('LimitGovernor', () => {
  it('shrinks to the reads still running, logs one warning per episode, and grows back one slot per quiet minute', () => {
    let now = 0;
    const { logger, lines } = memoryLogger('info');
    const slots = target(24, 10);
    const governor = new LimitGovernor(slots, logger, { maxSlots: 24, now: () => now });
    for (let i = 0; i < 500; i++) governor.refused();
    governor.close();
    // The refused read still held its turn: 9 others run on connections the agent accepted.
    expect(slots.slots).toBe(9);
    expect(lines.filter((line) => line.level === 40)).toHaveLength(1);
    expect(governor.stats).toEqual({ limitRefusals: 500, limited: true });

    now = 59_000;
    governor.tick();
    expect(slots.slots).toBe(9);
    now = 60_000;
    governor.tick();
    expect(slots.slots).toBe(10);
    // A refusal during recovery shrinks again; the episode goes on without a second warning.
    slots.held = 4;
    governor.refused();
    governor.close();
    expect(slots.slots).toBe(3);
    for (let minute = 2; minute < 40; minute++) {
      now = minute * 60_000;
      governor.tick();
    }
    expect(slots.slots).toBe(24);
    expect(governor.stats.limited).toBe(false);
    expect(lines.filter((line) => line.level === 40)).toHaveLength(1);
    expect(lines.filter((line) => line.level === 30)).toHaveLength(1);
  });

  it('never goes below one slot', () => {
    const slots = target(24, 0);
    const governor = new LimitGovernor(slots, memoryLogger('warn').logger, { maxSlots: 24, now: () => 0 });
    governor.refused();
    governor.close();
    expect(slots.slots).toBe(1);
  });
});
