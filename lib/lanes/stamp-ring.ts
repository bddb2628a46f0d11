/**
 * A FIFO of (page, stamp) pairs, in stamp order, of fixed capacity: a
 * lane's probes awaiting the end of their window (sentinel-watch.ts,
 * ghost-probes.ts). Stamps are eviction counts (CTL_EVICTIONS), compared
 * with wrapping int32 arithmetic. Single producer and single consumer: the
 * lane itself. Nothing allocates after construction.
 */
export class StampRing {
  readonly #pages: Int32Array;
  readonly #stamps: Int32Array;
  #head = 0;
  #count = 0;

  constructor(capacity: number) {
    this.#pages = new Int32Array(capacity);
    this.#stamps = new Int32Array(capacity);
  }

  get empty(): boolean {
    return this.#count === 0;
  }

  get full(): boolean {
    return this.#count === this.#pages.length;
  }

  /** Appends an entry; a full ring must first be shifted by the caller (it decides what the oldest becomes). */
  push(page: number, stamp: number): void {
    const at = (this.#head + this.#count) % this.#pages.length;
    this.#pages[at] = page;
    this.#stamps[at] = stamp;
    this.#count++;
  }

  /** Whether there is an oldest entry and it was stamped more than `window` evictions before `now`. */
  oldestExpired(now: number, window: number): boolean {
    return this.#count > 0 && ((now - this.#stamps[this.#head]) | 0) > window;
  }

  /** The oldest entry's page (the ring must not be empty). */
  get oldestPage(): number {
    return this.#pages[this.#head];
  }

  /** The oldest entry's stamp (the ring must not be empty). */
  get oldestStamp(): number {
    return this.#stamps[this.#head];
  }

  /** Drops the oldest entry. */
  shift(): void {
    this.#head = (this.#head + 1) % this.#pages.length;
    this.#count--;
  }
}
