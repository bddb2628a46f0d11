/**
 * The first failure of a region's pager (a lane or the reclaimer), recorded
 * in shared memory so that any thread reads it at once, without waiting for
 * a worker's message on an event loop: CTL_FAILED holds its errno (the first
 * writer wins, by compare-exchange), the failure buffer its message.
 *
 * Layout of PagerShared.failure: Int32 byte length at 0 (0 until the message
 * is complete; stored last, with release order), then UTF-8 bytes.
 */
import { CTL_FAILED, CTL_STOP, FAILURE_BYTES } from './layout';

const TEXT_OFFSET = 4;

/**
 * Whether `error` is the region's close, not a failure: the pager's own
 * 'region closed', or anything that failed once the region was stopping
 * (its syscalls on the closed uffd and memfd fail).
 */
export function isCloseError(error: unknown, control: Int32Array): boolean {
  return (error as Error).message === 'region closed' || Atomics.load(control, CTL_STOP) !== 0;
}

/** Records errno and message if no failure came first; returns whether this one did. */
export function recordFailure(control: Int32Array, failure: SharedArrayBuffer, errno: number, message: string): boolean {
  if (Atomics.compareExchange(control, CTL_FAILED, 0, errno === 0 ? 5 : Math.abs(errno)) !== 0) return false;
  const bytes = new Uint8Array(failure, TEXT_OFFSET, FAILURE_BYTES - TEXT_OFFSET);
  const { written } = new TextEncoder().encodeInto(message, bytes);
  // Release: the bytes above are visible to whoever reads this length.
  Atomics.store(new Int32Array(failure, 0, 1), 0, written);
  return true;
}

/** The recorded message, or undefined while none (or while it is being written). */
export function readFailure(failure: SharedArrayBuffer): string | undefined {
  const length = Atomics.load(new Int32Array(failure, 0, 1), 0); // acquire
  if (length === 0) return undefined;
  return new TextDecoder().decode(new Uint8Array(failure, TEXT_OFFSET, length).slice());
}
