import { describe, expect, it } from 'vitest';
import { beginLocalRelease, localReleasesAnnounced } from '../../src/primitives/session/local-releases.js';

describe('local releases in flight', () => {
  it('an acquisition waits for the releases of its key in flight, and only those', async () => {
    const first = beginLocalRelease('lock:a');
    const second = beginLocalRelease('lock:a');
    const other = beginLocalRelease('lock:b');
    let settled = false;
    const waiting = localReleasesAnnounced('lock:a').then(() => (settled = true));
    first.announced();
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    second.announced();
    second.announced();
    await waiting;
    expect(settled).toBe(true);
    // Nothing in flight for the key any more: resolves at once; 'lock:b' never mattered.
    await localReleasesAnnounced('lock:a');
    other.announced();
  });
});
