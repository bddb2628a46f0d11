/**
 * Layout of the fault events that NativeRegion.readEvents() writes into a
 * caller-owned Float64Array: EVENT_STRIDE doubles per event. Doubles hold a
 * byte offset into the region exactly (regions are far below 2^53 bytes).
 */
export const EVENT_STRIDE = 4;
/** Byte offset of the faulting page from the region's base, page-aligned. */
export const EVENT_OFFSET = 0;
/** One of FaultKind. */
export const EVENT_KIND = 1;
/** 1 when the faulting access was a write. */
export const EVENT_WRITE = 2;
/** Thread id of the faulting thread (UFFD_FEATURE_THREAD_ID), else 0. */
export const EVENT_TID = 3;

export const FaultKind = {
  missing: 0,
  minor: 1,
  writeProtect: 2,
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

/** readEvents() returns this once the region is closed: the lane should exit. */
export const EVENTS_CLOSED = -1;

export function eventBuffer(maxEvents: number): Float64Array {
  return new Float64Array(maxEvents * EVENT_STRIDE);
}
