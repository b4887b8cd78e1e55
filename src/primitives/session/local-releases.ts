/**
 * Releases in flight in this process, per key.
 *
 * Consul writes its HTTP answers from independent goroutines: the next holder's acquiring
 * transaction can be answered before the release that made room for it. Two lock objects of
 * one process could then emit `acquired` before the other emits `released`, and a listener
 * that tracks holders from events would see two at once. So an acquisition that won waits
 * until the local releases of its key have been announced before it announces itself. The
 * wait is bounded: every release call has its own timeout.
 *
 * @packageDocumentation
 */

const inFlight = new Map<string, Set<Promise<void>>>();

/** A release in flight; `announced()` ends it (idempotent). */
export interface LocalRelease {
  announced(): void;
}

/** Records a release of `key` that is in flight until `announced()` is called. */
export function beginLocalRelease(key: string): LocalRelease {
  let announce!: () => void;
  const promise = new Promise<void>((resolve) => (announce = resolve));
  let releases = inFlight.get(key);
  if (releases === undefined) inFlight.set(key, (releases = new Set()));
  releases.add(promise);
  let ended = false;
  return {
    announced(): void {
      if (ended) return;
      ended = true;
      announce();
      releases.delete(promise);
      if (releases.size === 0 && inFlight.get(key) === releases) inFlight.delete(key);
    },
  };
}

/** Resolves once every release of `key` in flight now has been announced. */
export async function localReleasesAnnounced(key: string): Promise<void> {
  const releases = inFlight.get(key);
  if (releases === undefined) return;
  await Promise.all([...releases]);
}
