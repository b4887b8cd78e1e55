/**
 * The subscriber list every watch source delivers from (pure logic): one array per
 * membership, replaced when a subscriber joins or leaves.
 */
import { describe, expect, it } from 'vitest';
import { SubscriberList } from '../../src/watch/subscriber-list.js';

describe('SubscriberList', () => {
  it('hands out the same array until a subscriber joins or leaves, then a new one', () => {
    const list = new SubscriberList<string>();
    list.add('a');
    list.add('b');
    const first = list.current();
    expect(first).toEqual(['a', 'b']);
    expect(list.current()).toBe(first);
    list.add('c');
    const second = list.current();
    expect(second).toEqual(['a', 'b', 'c']);
    expect(first).toEqual(['a', 'b']);
    list.delete('a');
    expect(list.current()).toEqual(['b', 'c']);
    expect(second).toEqual(['a', 'b', 'c']);
    expect(list.size).toBe(2);
  });

  it('a subscriber that joins or leaves during a walk is seen from the next walk', () => {
    const list = new SubscriberList<string>();
    list.add('a');
    list.add('b');
    const walked: string[] = [];
    for (const subscriber of list.current()) {
      walked.push(subscriber);
      list.delete('b');
      list.add('c');
    }
    expect(walked).toEqual(['a', 'b']);
    expect(list.current()).toEqual(['a', 'c']);
  });

  it('takeAll returns every subscriber and leaves the list empty', () => {
    const list = new SubscriberList<string>();
    list.add('a');
    list.add('b');
    expect(list.takeAll()).toEqual(['a', 'b']);
    expect(list.size).toBe(0);
    expect(list.current()).toEqual([]);
  });
});
