/**
 * The watches attached to one source (a blocking loop, a key feed), in the form a delivery
 * walks.
 *
 * @packageDocumentation
 */

/**
 * A set of subscribers that hands out a stable array to deliver to. The array is made again
 * only after a subscriber joins or leaves, not per delivery: a change of a key watched a
 * thousand times must not copy a thousand-entry set. It is replaced, never mutated, so a
 * subscriber that joins or leaves during a delivery cannot disturb that delivery and is seen
 * from the next one.
 */
export class SubscriberList<S> {
  readonly #members = new Set<S>();
  #snapshot: readonly S[] | undefined;

  /** Subscribers attached. */
  get size(): number {
    return this.#members.size;
  }

  add(subscriber: S): void {
    this.#members.add(subscriber);
    this.#snapshot = undefined;
  }

  delete(subscriber: S): void {
    this.#members.delete(subscriber);
    this.#snapshot = undefined;
  }

  /** The subscribers now, to deliver to; the same array until one joins or leaves. */
  current(): readonly S[] {
    return (this.#snapshot ??= [...this.#members]);
  }

  /** Removes every subscriber and returns those that were attached. */
  takeAll(): readonly S[] {
    const all = this.current();
    this.#members.clear();
    this.#snapshot = undefined;
    return all;
  }
}
