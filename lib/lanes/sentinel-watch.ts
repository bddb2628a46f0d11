/**
 * A lane's density-probe sentinels still undecided (paging/elastic-block.ts,
 * paging/refault.ts). A sentinel touched within DENSE_HIT_WINDOW evictions
 * of its install is a hit, decided at its touch (fault-handler.ts); one not
 * touched by then is waste, and is decided here, as soon as its window has
 * passed, instead of at its eviction, which comes up to a budget's worth of
 * evictions later. Under uniform random access (gups) the verdicts that back
 * a chunk's probes off otherwise came so late that a chunk probed at the
 * full rate for much of a run.
 *
 * A decided sentinel is then mapped (by the lane's `map`, while pinned) and
 * left RESIDENT and unreferenced: the hand evicts it at its next pass unless
 * a fault references it, and a late touch costs no MINOR fault (default
 * gups: 2,335 MINOR faults against the 4 KiB block's 1,181 with decided
 * sentinels left unmapped, though only 304 of them were hits).
 *
 * A FIFO ring per lane, in install order (so in stamp order): single
 * producer and single consumer, the lane itself. A full ring drops its
 * oldest entry, whose sentinel is then decided at its touch or eviction as
 * before.
 */
import { recordProbe } from '../paging/elastic-block';
import { CTL_BUDGET_PAGES, CTL_EVICTIONS, FLAG_DENSE_PROBE, FLAG_PROBE } from '../paging/layout';
import { PageState, notifySettled } from '../paging/page-state';
import { DENSE_HIT_WINDOW } from '../paging/refault';
import { StampRing } from './stamp-ring';

const CAPACITY = 256;

export class SentinelWatch {
  readonly #map: (page: number) => void;
  readonly #ring = new StampRing(CAPACITY);

  /** `map`: maps a decided sentinel (pinned, FETCHING, its probe flags taken) into the region. */
  constructor(map: (page: number) => void) {
    this.#map = map;
  }

  /** A sentinel just installed (PREFETCHED), stamped `stamp` (refault.ts: stampSentinel). */
  add(page: number, stamp: number): void {
    if (this.#ring.full) this.#ring.shift();
    this.#ring.push(page, stamp);
  }

  /**
   * Records as waste each watched sentinel whose window has passed and that
   * is still untouched, and maps it; returns how many. A sentinel is decided
   * once: the lane pins it (PREFETCHED → FETCHING) and takes its probe
   * flags, so a touch or an eviction racing it finds none.
   */
  expire(states: Uint8Array, flags: Uint8Array, chunks: Int32Array, evictedAt: Int32Array, control: Int32Array): number {
    if (this.#ring.empty) return 0;
    const now = Atomics.load(control, CTL_EVICTIONS);
    const window = Atomics.load(control, CTL_BUDGET_PAGES) * DENSE_HIT_WINDOW;
    let wasted = 0;
    while (this.#ring.oldestExpired(now, window)) {
      const page = this.#ring.oldestPage;
      const stamp = this.#ring.oldestStamp;
      this.#ring.shift();
      // Evicted since (and perhaps a sentinel again, stamped anew): not this one.
      if (Atomics.load(evictedAt, page) !== stamp) continue;
      // Touched (RESIDENT), being evicted or installed: decided by whoever holds it.
      if (Atomics.compareExchange(states, page, PageState.prefetched, PageState.fetching) !== PageState.prefetched) continue;
      const was = Atomics.and(flags, page, ~(FLAG_PROBE | FLAG_DENSE_PROBE));
      let mapped = false;
      try {
        this.#map(page);
        mapped = true;
      } finally {
        // Release: the flags are visible to whoever sees the state. Unmapped
        // (the map failed: the region is closing), it stays PREFETCHED.
        Atomics.store(states, page, mapped ? PageState.resident : PageState.prefetched);
        notifySettled(control);
      }
      if ((was & FLAG_DENSE_PROBE) === 0) continue;
      recordProbe(chunks, page, false, true);
      wasted++;
    }
    return wasted;
  }
}
