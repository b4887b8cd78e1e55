/**
 * Refusal of unknown option keys. A misspelt option (`lockDelya`) would otherwise be ignored
 * in silence, and the primitive would run with a default the caller believes they changed;
 * JavaScript callers and `as any` casts get no help from the compiler. Each options type
 * lists its keys once, with {@link optionKeys}, and its entry point calls
 * {@link checkOptionKeys} before anything is sent.
 *
 * @packageDocumentation
 */
import { ValidationError } from './errors.js';

/** Largest edit distance at which a known key is offered as the likely intended one. */
const MAX_SUGGESTION_DISTANCE = 2;

/**
 * An options object holds a key that no option of the entry point has. Its `field` is the
 * unknown key (with the path of the nested object, as `tls.serverNmae`), and `suggestion`
 * the known key it most likely meant, if one is close.
 *
 * @example
 * ```ts
 * try {
 *   consul.lock('jobs/x/.lock', { lockDelya: '1s' } as LockOptions);
 * } catch (error) {
 *   if (error instanceof UnknownOptionError) console.error(error.suggestion); // 'lockDelay'
 * }
 * ```
 */
export class UnknownOptionError extends ValidationError {
  /** The known option (with its path) closest to the unknown one, or `undefined` when none is close. */
  readonly suggestion: string | undefined;

  /**
   * @param field - the unknown key, with its path (`tls.serverNmae`)
   * @param where - the entry point, as `lock()` or `new Consul()`
   * @param suggestion - the known key (with its path) to suggest, if any
   * @param known - the known keys, listed when there is no suggestion
   */
  constructor(field: string, where: string, suggestion: string | undefined, known: readonly string[]) {
    super(
      field,
      suggestion === undefined
        ? `unknown option of ${where} (known: ${known.join(', ')})`
        : `unknown option of ${where}; did you mean '${suggestion}'?`,
    );
    this.suggestion = suggestion;
  }
}

/**
 * Optimal string alignment distance (Levenshtein plus adjacent transpositions, each 1), so
 * that `lockDelya` is one edit from `lockDelay`. Hand-written because the lists are a few
 * dozen short keys, and a distance is only computed for a key being refused: no dependency
 * earns its place here.
 */
export function editDistance(a: string, b: string): number {
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, (beforePrevious[j - 2] as number) + 1);
      current.push(best);
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length] as number;
}

/**
 * The known key closest to `key`, ignoring case, when it is at most 2 edits away (and fewer
 * edits than `key` has characters, so that `x` does not suggest `id`); the first of equals.
 */
export function suggestOption(key: string, known: readonly string[]): string | undefined {
  const wanted = key.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance > MAX_SUGGESTION_DISTANCE || distance >= key.length) continue;
    if (best === undefined || distance < best.distance) best = { key: candidate, distance };
  }
  return best?.key;
}

/**
 * Throws {@link UnknownOptionError} for the first own enumerable key of `options` that is not
 * in `known`, whatever its value (`{ lockDelya: undefined }` is still a misspelling). Anything
 * that is not a plain object is left to the caller's own checks, which give a better message.
 *
 * @param options - the caller's options object; never modified
 * @param known - every key the entry point accepts (see {@link optionKeys})
 * @param where - the entry point, for the message: `lock()`, `watch.key()`, `new Consul()`
 * @param path - the path of a nested options object (`tls`), prefixed to the key in `field`
 * @throws UnknownOptionError for a key not in `known`
 */
export function checkOptionKeys(
  options: unknown,
  known: readonly string[],
  where: string,
  path?: string,
): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return;
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const prefix = path === undefined ? '' : `${path}.`;
    const suggestion = suggestOption(key, known);
    throw new UnknownOptionError(
      `${prefix}${key}`,
      where,
      suggestion === undefined ? undefined : `${prefix}${suggestion}`,
      known,
    );
  }
}

/** The keys of `T` that the list `K` leaves out; `never` when it lists them all. */
export type UnlistedKeys<T, K extends readonly PropertyKey[]> = Exclude<keyof T, K[number]>;

/** Makes a key list that leaves a key of `T` out fail to typecheck, naming the missing keys. */
type EveryKeyListed<T, K extends readonly PropertyKey[]> = [UnlistedKeys<T, K>] extends [never]
  ? unknown
  : { readonly 'option keys not listed': UnlistedKeys<T, K> };

/**
 * Declares the key list of an options type, checked both ways at compile time: every entry
 * is a key of `T`, and every key of `T` is listed (adding an option without listing it fails
 * typecheck). Compose lists of derived types by spreading the base type's list. Returns the
 * list frozen.
 *
 * @example
 * ```ts
 * export const LOCK_OPTION_KEYS = optionKeys<LockOptions>()([...SESSION_OPTION_KEYS, 'value']);
 * ```
 */
export function optionKeys<T extends object>(): <const K extends readonly (keyof T & string)[]>(
  keys: K & EveryKeyListed<T, K>,
) => Readonly<K> {
  return (keys) => Object.freeze([...keys]) as unknown as typeof keys;
}
