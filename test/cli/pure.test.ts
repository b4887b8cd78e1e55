/**
 * Pure helpers of the CLI: JSON output with exact uint64 fields, and the holder session
 * names `status` reads ages from.
 */
import { describe, expect, it } from 'vitest';
import { holderSessionName, parseHolderSessionName } from '../../src/cli/holder.js';
import { toJson } from '../../src/cli/json-lines.js';

describe('toJson', () => {
  it('writes uint64 bigints as exact integers and Buffers as base64', () => {
    expect(toJson({ Flags: 16210313421097356768n, Value: Buffer.from('hi'), n: 1 })).toBe(
      '{"Flags":16210313421097356768,"Value":"aGk=","n":1}',
    );
  });

  it('leaves strings that look like placeholders alone', () => {
    const text = toJson({ s: 'uint64-00:5', t: '\u0000uint64:5' });
    expect(JSON.parse(text)).toEqual({ s: 'uint64-00:5', t: '\u0000uint64:5' });
  });
});

describe('holder session names', () => {
  it('round-trips kind and start time', () => {
    const since = new Date('2024-05-01T10:00:00.000Z');
    const name = holderSessionName('semaphore', 'jobs/x', 'host-1', since);
    expect(parseHolderSessionName(name)).toEqual({ kind: 'semaphore', since });
  });

  it("knows the library's election name without a time, and nothing of consul lock's", () => {
    expect(parseHolderSessionName('consulkit election svc/leader')).toEqual({
      kind: 'election',
      since: undefined,
    });
    expect(parseHolderSessionName("Consul lock for 'sleep' at 'a/b'")).toBeUndefined();
  });
});
