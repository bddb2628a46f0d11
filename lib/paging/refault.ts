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
