/**
 * Which KV folders to read as one recursive blocking query instead of one query per key, so
 * that the blocking loops of a client fit in its blocking connections while the bytes read
 * stay small. Pure: the engine feeds it counts and applies the answer.
 *
 * @packageDocumentation
 */

/** What {@link planCoalescing} decides from. */
export interface CoalescePlanInput {
  /** Watched distinct keys per folder (a folder id is opaque to the plan). */
  readonly folders: ReadonlyMap<string, number>;
  /** Loops that cannot be coalesced (health, catalog, events, prefix watches…). */
  readonly others: number;
  /** Blocking reads the client can run at once. */
  readonly slots: number;
  /** Folders coalesced now (for hysteresis). */
  readonly current: ReadonlySet<string>;
}

/** Loops needed when the folders in `coalesced` are each read once and the others per key. */
export function loopDemand(
  input: Pick<CoalescePlanInput, 'folders' | 'others'>,
  coalesced: ReadonlySet<string>,
): number {
  let demand = input.others;
  for (const [folder, keys] of input.folders) demand += coalesced.has(folder) ? 1 : keys;
  return demand;
}

/**
 * Chooses the folders to coalesce:
 * - none while every key can have its own loop; once some are coalesced, they all go back
 *   to per-key loops only when the demand would drop to 3/4 of the slots, so a watch opened
 *   and closed in a loop at the boundary cannot make groups thrash;
 * - otherwise the folders already coalesced stay so (a folder left with a single key goes
 *   back: its group would save nothing), and more are added, those saving the most loops
 *   first, until the demand fits or no folder with two keys or more is left;
 * - a coalesced folder whose removal keeps the demand within 3/4 of the slots goes back to
 *   per-key loops (least saving first), since per-key reads transfer fewer bytes.
 *
 * When even every candidate coalesced does not fit, the result is still the best there is:
 * the scheduler shares the slots among the remaining loops.
 */
export function planCoalescing(input: CoalescePlanInput): Set<string> {
  const { folders, slots } = input;
  const relaxed = Math.floor((slots * 3) / 4);
  const none = new Set<string>();
  const uncoalesced = loopDemand(input, none);
  if (uncoalesced <= (input.current.size === 0 ? slots : relaxed)) return none;

  const chosen = new Set<string>();
  for (const folder of input.current) if ((folders.get(folder) ?? 0) >= 2) chosen.add(folder);
  const candidates = [...folders]
    .filter(([folder, keys]) => keys >= 2 && !chosen.has(folder))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  let demand = loopDemand(input, chosen);
  for (const [folder, keys] of candidates) {
    if (demand <= slots) break;
    chosen.add(folder);
    demand -= keys - 1;
  }
  const byGain = [...chosen].sort((a, b) => (folders.get(a) ?? 0) - (folders.get(b) ?? 0));
  for (const folder of byGain) {
    const gain = (folders.get(folder) ?? 0) - 1;
    if (demand + gain <= relaxed) {
      chosen.delete(folder);
      demand += gain;
    }
  }
  return chosen;
}

/**
 * The folder a key belongs to: everything up to and including its last `/`. A key at the
 * top level has none (its folder would be the whole KV store), so it is never coalesced.
 */
export function folderOf(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  return slash <= 0 ? undefined : key.slice(0, slash + 1);
}
