import { describe, expect, it } from 'vitest';
import { KV } from '../../src/api/kv.js';
import { Answer } from '../../src/transport/answer.js';
import type { Transport } from '../../src/transport/transport.js';
import type { RequestSpec } from '../../src/transport/types.js';
import { ValidationError } from '../../src/errors.js';

/** A transport that records the path of every request and answers 404. */
function recording(): { transport: Transport; paths: string[] } {
  const paths: string[] = [];
  const transport = {
    request: (spec: RequestSpec) => {
      paths.push(spec.path);
      return Promise.resolve(new Answer(404, undefined, {}));
    },
  } as unknown as Transport;
  return { transport, paths };
}

describe('KV key paths (built once per key)', () => {
  it('gives every key its own encoded path, also past the cache bound and on repeats', async () => {
    const { transport, paths } = recording();
    const kv = new KV(transport);
    const keys = Array.from({ length: 2500 }, (_, i) => `app/${i % 2 === 0 ? 'plain' : 'with space'}/${i}`);
    for (const key of [...keys, ...keys.slice(0, 10), ...keys.slice(-10)]) await kv.get(key);
    const expected = [...keys, ...keys.slice(0, 10), ...keys.slice(-10)].map(
      (key) => `/v1/kv/${key.split('/').map(encodeURIComponent).join('/')}`,
    );
    expect(paths).toEqual(expected);
  });

  it('refuses a bad key every time, and a good key after it still goes through', async () => {
    const { transport, paths } = recording();
    const kv = new KV(transport);
    for (let i = 0; i < 3; i++) {
      expect(() => kv.get('a//b')).toThrow(ValidationError);
      expect(() => kv.get('../x')).toThrow(ValidationError);
    }
    await kv.get('a/b');
    expect(paths).toEqual(['/v1/kv/a/b']);
  });
});
