import { describe, expect, it } from 'vitest';
import {
  EVENT_MAX_ENCODED_BYTES,
  eventIdToIndex,
  eventsAfterIndex,
  userEventSizeLowerBound,
  type UserEvent,
} from '../../src/api/event.js';
import { ValidationError } from '../../src/errors.js';

function event(id: string, name = 'deploy'): UserEvent {
  return {
    ID: id,
    Name: name,
    Payload: null,
    NodeFilter: '',
    ServiceFilter: '',
    TagFilter: '',
    Version: 1,
    LTime: 1n,
  };
}

describe('eventIdToIndex', () => {
  it('XORs the two halves of the UUID, as Consul computes X-Consul-Index', () => {
    // Observed on Consul 1.8.7: this event was the newest listed, with that index header.
    expect(eventIdToIndex('b6209298-32b4-311c-1c80-53d498b5546e')).toBe(12295039517735347570n);
  });

  it('rejects what is not a UUID', () => {
    expect(() => eventIdToIndex('not-a-uuid')).toThrow(ValidationError);
    expect(() => eventIdToIndex('b6209298-32b4-311c-1c80-53d498b5546')).toThrow(ValidationError);
  });
});

describe('eventsAfterIndex', () => {
  const a = event('b6209298-32b4-311c-1c80-53d498b5546e');
  const b = event('6cac45ea-125a-f812-acc0-d7b2bde8f41e');
  const c = event('ff5604cd-8369-c97b-e1fe-6e85bd3b60ce');

  it('keeps only the events after the one the index names', () => {
    expect(eventsAfterIndex([a, b, c], eventIdToIndex(a.ID))).toEqual([b, c]);
    expect(eventsAfterIndex([a, b, c], eventIdToIndex(c.ID))).toEqual([]);
  });

  it('returns everything when no event matches (first read, empty-list index 1, or buffer overrun)', () => {
    expect(eventsAfterIndex([a, b], undefined)).toEqual([a, b]);
    expect(eventsAfterIndex([a, b], 1n)).toEqual([a, b]);
  });
});

describe('userEventSizeLowerBound', () => {
  // Thresholds measured against Consul 1.8.7 with a young event clock: the largest payload
  // accepted encodes to exactly 512 bytes, one more byte is refused.
  it('matches the largest payload Consul accepted for a short name', () => {
    expect(userEventSizeLowerBound('e', 414)).toBe(EVENT_MAX_ENCODED_BYTES);
    expect(userEventSizeLowerBound('e', 415)).toBe(EVENT_MAX_ENCODED_BYTES + 1);
  });

  it('counts the name twice (Serf name and event body)', () => {
    expect(userEventSizeLowerBound('eeeeeeeeee', 396)).toBe(EVENT_MAX_ENCODED_BYTES);
    expect(userEventSizeLowerBound('ee', 412)).toBe(EVENT_MAX_ENCODED_BYTES);
  });

  it('counts filters, with longer msgpack headers past 31 bytes', () => {
    expect(userEventSizeLowerBound('e', 409, { node: 'a' })).toBe(EVENT_MAX_ENCODED_BYTES);
    expect(userEventSizeLowerBound('e', 404, { service: 'a', tag: 'b' })).toBe(EVENT_MAX_ENCODED_BYTES);
    expect(userEventSizeLowerBound('e', 369, { node: 'a'.repeat(40) })).toBe(EVENT_MAX_ENCODED_BYTES);
  });

  it('measures names in UTF-8 bytes', () => {
    expect(userEventSizeLowerBound('é', 0)).toBe(userEventSizeLowerBound('ee', 0));
  });

  it('leaves out an empty payload', () => {
    expect(userEventSizeLowerBound('e', 0)).toBeLessThan(userEventSizeLowerBound('e', 1) - 1);
  });
});
