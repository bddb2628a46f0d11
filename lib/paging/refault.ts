/**
 * Refault distance, after Linux's mm/workingset.c: which fetched pages
 * belong to the working set, told without a fault of their own.
 *
 * The reclaimer stamps each page it evicts with the number of pages evicted
 * so far (CTL_EVICTIONS). When the page is fetched again, the evictions
 * since its stamp are its refault distance: a local budget that many pages
 * larger would have kept it. A page that comes back within REFAULT_WINDOW
 * of the budget is installed referenced, so CLOCK gives it a second chance;
 * any other fetched page is installed unreferenced, and CLOCK evicts it at
 * the hand's first pass unless a later touch (a MINOR fault after a zap)
 * shows it is used again.
 *
 * The same stamps time density probes (elastic-block.ts): while a probe's
 * sentinel waits, unmapped, for its first touch, its slot holds the
 * eviction count at its install (the slot is read again only after the
 * page's next eviction has overwritten it).
 *
 * Why not install every faulting page referenced, as textbook CLOCK does:
 * the reference bit is emulated by a zap, and a zapped page's next touch
 * costs a MINOR fault, which here costs nearly what a fetch does. Pages
 * touched once (scans, shuffled passes) paid that fault for nothing.
 */
import { CTL_BUDGET_PAGES, CTL_EVICTIONS } from './layout';

/** The refault distance that counts as recent, as a fraction of the local budget. */
export const REFAULT_WINDOW = 1 / 4;

/** Stamps `count` evicted pages (the reclaimer, while it owns them: EVICTING). */
export function stampEvicted(control: Int32Array, evictedAt: Int32Array, victims: Int32Array, count: number): void {
  // Wrapping int32 arithmetic: distances are read with `| 0`.
  const first = (Atomics.add(control, CTL_EVICTIONS, count) + 1) | 0;
  for (let k = 0; k < count; k++) Atomics.store(evictedAt, victims[k], (first + k) | 0);
}

/** Whether `page` (claimed by the caller: FETCHING) was evicted within the window. */
export function isRecentRefault(control: Int32Array, evictedAt: Int32Array, page: number): boolean {
  const at = Atomics.load(evictedAt, page);
  if (at === 0) return false; // never evicted
  const distance = (Atomics.load(control, CTL_EVICTIONS) - at) | 0;
  return distance >= 0 && distance <= Atomics.load(control, CTL_BUDGET_PAGES) * REFAULT_WINDOW;
}

/**
 * How soon, as a fraction of the local budget in evictions, a density
 * probe's sentinel must be touched to count as a hit. Under uniform random
 * access (gups at 50% local) a page near a miss is touched before its
 * eviction more often than not, just as any page is: that is no locality,
 * and a block fetched for it displaces a page as likely to be used. Pages
 * with locality are touched soon after their neighbour's miss.
 */
export const DENSE_HIT_WINDOW = REFAULT_WINDOW;

/** Stamps a density probe's sentinel (claimed by the caller) with the evictions so far; returns the stamp. */
export function stampSentinel(control: Int32Array, evictedAt: Int32Array, page: number): number {
  const stamp = Atomics.load(control, CTL_EVICTIONS) | 0;
  Atomics.store(evictedAt, page, stamp);
  return stamp;
}

/** Whether a density probe's sentinel, touched now, was touched within DENSE_HIT_WINDOW of its install. */
export function isTouchedSoon(control: Int32Array, evictedAt: Int32Array, page: number): boolean {
  const distance = (Atomics.load(control, CTL_EVICTIONS) - Atomics.load(evictedAt, page)) | 0;
  return distance <= Atomics.load(control, CTL_BUDGET_PAGES) * DENSE_HIT_WINDOW;
}
