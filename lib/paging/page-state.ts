/**
 * The life cycle of one 4 KiB page (docs/PAGE-STATES.md draws it):
 *
 *   ZERO ──fault──► FETCHING ──install──► RESIDENT (mapped) or PREFETCHED (cache only)
 *   REMOTE ─fault─► FETCHING
 *   PREFETCHED ──MINOR fault──► RESIDENT
 *   RESIDENT / PREFETCHED ──reclaimer──► EVICTING ──► REMOTE (written back or
 *                                                     already valid remotely) or ZERO
 *
 * Every transition is a compare-exchange by the thread that performs it;
 * FETCHING and EVICTING are owned states: only their owner moves a page out
 * of them. A fault that finds a page FETCHING or EVICTING waits for it to
 * settle, then decides again from the state it finds.
 */
import { CTL_SETTLED_SEQ } from './layout';

export const PageState = {
  zero: 0,
  remote: 1,
  fetching: 2,
  prefetched: 3,
  resident: 4,
  evicting: 5,
} as const;
export type PageState = (typeof PageState)[keyof typeof PageState];

export const PAGE_STATE_NAMES = ['ZERO', 'REMOTE', 'FETCHING', 'PREFETCHED', 'RESIDENT', 'EVICTING'] as const;

/** Local pages occupy budget: the memfd holds them. */
export function isLocal(state: number): boolean {
  return state === PageState.prefetched || state === PageState.resident;
}

/** Pages whose next touch must be fetched or zero-filled. */
export function isAbsent(state: number): boolean {
  return state === PageState.zero || state === PageState.remote;
}

/** Owned by some thread in the middle of a transition. */
export function isBusy(state: number): boolean {
  return state === PageState.fetching || state === PageState.evicting;
}

/**
 * A page left a busy state (FETCHING, EVICTING): bumps CTL_SETTLED_SEQ and
 * wakes the lanes waiting on it (fault-handler.ts: #waitSettle). Call it
 * after the state's release store.
 */
export function notifySettled(control: Int32Array): void {
  Atomics.add(control, CTL_SETTLED_SEQ, 1);
  Atomics.notify(control, CTL_SETTLED_SEQ);
}
