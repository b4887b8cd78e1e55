/**
 * The key feed's delivery list (its own logic, over hand-made subscribers): the array it
 * delivers from is cached between changes, so a watch that attaches or leaves must be seen
 * by the next change and a watch leaving during a delivery must not disturb it. Behaviour
 * against a real agent is in test/integration/watch*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { KVPair } from '../../src/api/kv.js';
import { KeyFeed, type KeyValue } from '../../src/watch/key-feed.js';
import type { LoopSubscriber } from '../../src/watch/loop.js';
import { memoryLogger } from '../support/logging.js';

function entry(value: string): KVPair {
  return {
    Key: 'app/a',
    Value: Buffer.from(value),
    Flags: 0,
    LockIndex: 0n,
    CreateIndex: 1n,
    ModifyIndex: 1n,
  } as unknown as KVPair;
}

function recorder(name: string, calls: string[], onDeliver?: () => void): LoopSubscriber<KeyValue> {
  return {
    deliver: (value) => {
      calls.push(`${name} ${String(value?.Value)}`);
      onDeliver?.();
    },
    report: () => undefined,
    fail: () => undefined,
    end: () => undefined,
  };
}

/** A feed of `app/a` with no upstream (values are offered by hand) and the deliveries' log. */
function newFeed(): { feed: KeyFeed; calls: string[] } {
  const { logger } = memoryLogger('error');
  const feed = new KeyFeed(
    'app/a',
    'app/',
    logger,
    () => undefined,
    () => undefined,
  );
  return { feed, calls: [] };
}

describe('KeyFeed delivery list', () => {
  it('a watch attaching or leaving between changes is seen by the next change', () => {
    const { feed, calls } = newFeed();
    const first = recorder('first', calls);
    const second = recorder('second', calls);
    feed.attach(first);
    feed.offer(entry('v1'));
    feed.attach(second);
    feed.offer(entry('v2'));
    void feed.detach(first);
    feed.offer(entry('v3'));
    expect(calls).toEqual(['first v1', 'first v2', 'second v2', 'second v3']);
  });

  it('a watch leaving during a delivery does not stop the others from getting that change', () => {
    const { feed, calls } = newFeed();
    const third = recorder('third', calls);
    const second = recorder('second', calls);
    const first = recorder('first', calls, () => void feed.detach(second));
    feed.attach(first);
    feed.attach(second);
    feed.attach(third);
    feed.offer(entry('v1'));
    feed.offer(entry('v2'));
    expect(calls).toEqual(['first v1', 'second v1', 'third v1', 'first v2', 'third v2']);
  });

  it('an unchanged value reaches nobody', () => {
    const { feed, calls } = newFeed();
    feed.attach(recorder('only', calls));
    feed.offer(entry('v1'));
    feed.offer(entry('v1'));
    feed.offer(undefined);
    expect(calls).toEqual(['only v1', 'only undefined']);
  });
});
