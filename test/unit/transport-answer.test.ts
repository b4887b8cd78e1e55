import { describe, expect, it } from 'vitest';
import { ConsulRead, read } from '../../src/api/read.js';
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

  it('parses raw header pairs as undici hands them over, names in any case, only when meta is read', () => {
    const raw = [
      Buffer.from('Content-Type'),
      Buffer.from('application/json'),
      Buffer.from('X-Consul-Index'),
      Buffer.from('18446744073709551615'),
      Buffer.from('X-Consul-Knownleader'),
      Buffer.from('false'),
      Buffer.from('X-Consul-Lastcontact'),
      Buffer.from('41'),
      Buffer.from('X-Cache'),
      Buffer.from('hit'),
    ];
    const { headers, reads } = countingHeaders(raw as unknown as HeaderBag);
    const answer = new Answer(200, null, headers as unknown as Buffer[]);
    expect(reads()).toBe(0);
    expect(answer.meta).toEqual({
      index: 18446744073709551615n,
      knownLeader: false,
      lastContact: 41,
      cacheHit: true,
    });
    expect(reads()).toBeGreaterThan(0);
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

  it('maps the body once, however often the read is awaited or asked for its metadata', async () => {
    let calls = 0;
    const pending = read(
      answering({ n: 1 }, CONSUL_HEADERS),
      { method: 'GET', path: '/v1/x', response: 'json' },
      (body: { n: number }) => {
        calls++;
        return { doubled: body.n * 2 };
      },
    );
    const first = await pending;
    const second = await pending;
    const { data } = await pending.withMeta();
    expect(first).toEqual({ doubled: 2 });
    expect(second).toBe(first);
    expect(data).toBe(first);
    expect(calls).toBe(1);
  });

  it('rejects the read and its withMeta() with what the mapping threw, or the request failure', async () => {
    const broken = new TypeError('bad body');
    const pending = read(
      answering('x', CONSUL_HEADERS),
      { method: 'GET', path: '/v1/x', response: 'json' },
      () => {
        throw broken;
      },
    );
    await expect(pending).rejects.toBe(broken);
    await expect(pending.withMeta()).rejects.toBe(broken);
    // then(onfulfilled, onrejected) hands the failure to its own onrejected, as for a rejected answer.
    const settled = await pending.then(
      () => 'fulfilled',
      (reason: unknown) => reason,
    );
    expect(settled).toBe(broken);
    const failure = new Error('agent gone');
    const failing = { request: () => Promise.reject(failure) } as unknown as Transport;
    const lost = read(failing, { method: 'GET', path: '/v1/x', response: 'json' }, (body: unknown) => body);
    await expect(lost).rejects.toBe(failure);
    await expect(lost.withMeta()).rejects.toBe(failure);
    await expect(lost.catch(() => 'handled')).resolves.toBe('handled');
  });

  it('still serves a read built from data and metadata with the constructor', async () => {
    const meta = { index: 7n };
    const built = new ConsulRead(Promise.resolve({ data: ['a'], meta }));
    expect(await built).toEqual(['a']);
    expect(await built.withMeta()).toEqual({ data: ['a'], meta });
    expect(Object.prototype.toString.call(built)).toBe('[object ConsulRead]');
  });
});
