/**
 * The session names the CLI gives its locks, semaphores and elections. Consul keeps no time
 * for a session or a lock, so the name carries when the holder started: `consulkit status`
 * reads it back to show an age (for holders started by this CLI only).
 *
 * @packageDocumentation
 */

/** What a session of this CLI holds. */
export type HolderKind = 'lock' | 'semaphore' | 'election';

/** What {@link parseHolderSessionName} recovers from a session name. */
export interface HolderInfo {
  /** What the session was created for. */
  readonly kind: HolderKind;
  /** When the holder created the session; `undefined` when the name does not say. */
  readonly since: Date | undefined;
}

/** Session name for a holder on `target` (prefix or key): kind, target, host, pid and start time. */
export function holderSessionName(
  kind: HolderKind,
  target: string,
  host: string,
  now: Date = new Date(),
): string {
  return `consulkit ${kind} ${target} on ${host} pid ${process.pid} since ${now.toISOString()}`;
}

const NAME =
  /^consulkit (lock|semaphore|election) (?:.* )?since (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)$/;
const KIND_ONLY = /^consulkit (lock|semaphore|election)\b/;

/**
 * Reads a session name written by {@link holderSessionName}, or the library's default
 * `consulkit election <key>` (no time); `undefined` for any other name (e.g. `consul lock`'s).
 */
export function parseHolderSessionName(name: string): HolderInfo | undefined {
  const full = NAME.exec(name);
  if (full) {
    const since = new Date(full[2] ?? '');
    return { kind: full[1] as HolderKind, since: Number.isNaN(since.getTime()) ? undefined : since };
  }
  const kind = KIND_ONLY.exec(name);
  return kind ? { kind: kind[1] as HolderKind, since: undefined } : undefined;
}
