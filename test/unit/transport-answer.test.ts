import { describe, expect, it } from 'vitest';
import { read } from '../../src/api/read.js';
import { Answer } from '../../src/transport/answer.js';
import type { HeaderBag } from '../../src/transport/query-meta.js';
import type { Transport } from '../../src/transport/transport.js';

/** Response headers that count how often anything reads them. */
function countingHeaders(bag: HeaderBag): { headers: HeaderBag; reads: () => number } {
  let reads = 0;
  const headers = new Proxy(bag, {
    get(target, name, receiver) {
      reads++;
      return Reflect.get(target, name, receiver) as unknown;
    },
  });
  return { headers, reads: () => reads };
}

const CONSUL_HEADERS: HeaderBag = {
  'x-consul-index': '18446744073709551615',
  'x-consul-knownleader': 'true',
  'x-consul-lastcontact': '12',
};

/** A transport whose only request answers with the given body and headers. */
function answering(body: unknown, headers: HeaderBag): Transport {
  return { request: () => Promise.resolve(new Answer(200, body, headers)) } as unknown as Transport;
}

describe('Answer', () => {
  it('reads no header until meta is asked for, then parses them once', () => {
    const { headers, reads } = countingHeaders(CONSUL_HEADERS);
    const answer = new Answer(200, ['body'], headers);
    expect(answer.body).toEqual(['body']);
    expect(reads()).toBe(0);
    const meta = answer.meta;
    expect(meta).toEqual({ index: 18446744073709551615n, knownLeader: true, lastContact: 12 });
    const afterFirst = reads();
    expect(afterFirst).toBeGreaterThan(0);
    expect(answer.meta).toBe(meta);
    expect(reads()).toBe(afterFirst);
  });
});

describe('read', () => {
  it('resolves the mapped data without touching the headers', async () => {
    const { headers, reads } = countingHeaders(CONSUL_HEADERS);
    const data = await read(
      answering([1, 2], headers),
      { method: 'GET', path: '/v1/x', response: 'json' },
      (body: number[]) => body.map((n) => n * 10),
    );
    expect(data).toEqual([10, 20]);
    expect(reads()).toBe(0);
  });

  it('gives withMeta() as a plain { data, meta } object, the same one each time', async () => {
    const pending = read(
      answering('v', CONSUL_HEADERS),
      { method: 'GET', path: '/v1/x', response: 'json' },
      (body: string) => body.toUpperCase(),
    );
    const first = await pending.withMeta();
    // Own properties, so spreading and deep equality see the metadata.
    expect({ ...first }).toEqual({
      data: 'V',
      meta: { index: 18446744073709551615n, knownLeader: true, lastContact: 12 },
    });
    expect(await pending.withMeta()).toBe(first);
    expect(await pending).toBe('V');
  });
});
