/**
 * Layout of the caller-owned arrays a DataConnection works on. The pager's
 * lanes fill these in place: no object per operation.
 *
 * Operations: Float64Array, OP_STRIDE doubles each (addresses are exact
 * below 2^53).
 * Completions: Int32Array, COMPLETION_STRIDE ints each.
 */
export const OP_STRIDE = 6;
export const OP_KIND = 0;
export const OP_TAG = 1;
export const OP_STAGING_OFFSET = 2;
export const OP_REMOTE_ADDRESS = 3;
export const OP_LENGTH = 4;
export const OP_KEY = 5;

export const OpKind = { read: 0, write: 1 } as const;
export type OpKind = (typeof OpKind)[keyof typeof OpKind];

export const COMPLETION_STRIDE = 3;
export const COMPLETION_TAG = 0;
/**
 * 0; an errno value (tcp, shm, file, and verbs operations refused before
 * they reach the device); or, on verbs, WC_STATUS_BASE + an ibv_wc_status
 * for a failed work completion. completionError() turns any of them into an
 * error (a WorkCompletionError for the last kind).
 */
export const COMPLETION_STATUS = 1;
export const COMPLETION_BYTES = 2;

/** Verbs: a status at or above this is WC_STATUS_BASE + ibv_wc_status (native/core/verbs/work_completion.h). */
export const WC_STATUS_BASE = 0x10000;

/** One request moves at most this many bytes (native/core/transport/wire.h). */
export const MAX_OP_BYTES = 1 << 20;

export function opBuffer(maxOps: number): Float64Array {
  return new Float64Array(maxOps * OP_STRIDE);
}

export function completionBuffer(maxCompletions: number): Int32Array {
  return new Int32Array(maxCompletions * COMPLETION_STRIDE);
}

/** Writes operation `i` of `ops`. */
export function setOp(
  ops: Float64Array,
  i: number,
  kind: OpKind,
  tag: number,
  stagingOffset: number,
  remoteAddress: number,
  length: number,
  key: number,
): void {
  const at = i * OP_STRIDE;
  ops[at + OP_KIND] = kind;
  ops[at + OP_TAG] = tag;
  ops[at + OP_STAGING_OFFSET] = stagingOffset;
  ops[at + OP_REMOTE_ADDRESS] = remoteAddress;
  ops[at + OP_LENGTH] = length;
  ops[at + OP_KEY] = key;
}
