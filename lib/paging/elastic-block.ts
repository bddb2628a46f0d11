/**
 * Elastic block policy: per 2 MiB chunk, the fetch block (4 KiB .. 256 KiB)
 * follows the spatial locality that faults in that chunk show.
 *
 * Signals, per chunk:
 * - the stream test: a MISSING fault is *sequential* when it lands exactly
 *   where one of the chunk's two most recent blocks ended (two slots, so two
 *   interleaved streams, e.g. a triad's inputs, both count). A forward scan
 *   faults only at block ends: every fault is sequential. Uniform random
 *   faults almost never are.
 * - probes: a sample of blocks is installed with only the faulting page
 *   mapped; touches of the others (MINOR faults) are prefetch hits, and
 *   probe pages evicted untouched are waste.
 *
 * The chunk's block is used for misses that continue a stream; any other
 * miss fetches 4 KiB (fetchPagesFor).
 *
 * Every WINDOW misses the chunk is re-evaluated: mostly sequential → double
 * the block; not sequential at all → straight back to 4 KiB (a chunk that
 * grew during an initialising scan must not pay 256 KiB per cold miss for
 * several windows); rarely sequential → halve it; probes that waste more than
 * twice what they hit → halve it. So a scan grows to 256 KiB, random access settles
 * at 4 KiB, and alternating phases are followed within a few windows. A chunk
 * seen for the first time starts from its left neighbour's block, so a scan
 * crossing into a new chunk keeps its block.
 */
import {
  CHUNK_BLOCK_SHIFT,
  CHUNK_CHANGES,
  CHUNK_MISSES,
  CHUNK_PAGES,
  CHUNK_PROBE_HITS,
  CHUNK_PROBE_WASTE,
  CHUNK_SEQUENTIAL,
  CHUNK_STREAM_A,
  CHUNK_STREAM_B,
  CHUNK_STRIDE,
  MAX_BLOCK_SHIFT,
  MIN_BLOCK_SHIFT,
} from './layout';

export const WINDOW = 4;
const GROW_AT = 0.5;
const SHRINK_BELOW = 0.25;

export type BlockPolicy = { kind: 'elastic' } | { kind: 'fixed'; shift: number };

export const BLOCK_CHOICES = { '4k': 0, '16k': 2, '64k': 4, '256k': 6 } as const;
export type FixedBlock = keyof typeof BLOCK_CHOICES;

export function parseBlockPolicy(value: string): BlockPolicy | undefined {
  if (value === 'elastic') return { kind: 'elastic' };
  const shift = (BLOCK_CHOICES as Record<string, number>)[value.toLowerCase()];
  return shift === undefined ? undefined : { kind: 'fixed', shift };
}

/** The block, in pages (a power of two), to fetch for a fault in `page`'s chunk. */
export function blockPagesFor(chunks: Int32Array, page: number, policy: BlockPolicy): number {
  if (policy.kind === 'fixed') return 1 << policy.shift;
  const base = Math.floor(page / CHUNK_PAGES) * CHUNK_STRIDE;
  return 1 << Atomics.load(chunks, base + CHUNK_BLOCK_SHIFT);
}

/**
 * The block to fetch for a miss at `page`. Elastic: the chunk's block when
 * the miss continues one of its streams (it lands where a recent block
 * ended), else 4 KiB: a cold, isolated miss in a chunk that once streamed
 * (an initialising scan, say) must not fetch 256 KiB it will not use. A
 * stream that restarts pays one small fetch, then continues at full size.
 */
export function fetchPagesFor(chunks: Int32Array, page: number, policy: BlockPolicy): number {
  if (policy.kind === 'fixed') return 1 << policy.shift;
  const base = Math.floor(page / CHUNK_PAGES) * CHUNK_STRIDE;
  if (continuesStream(chunks, base, page)) return 1 << Atomics.load(chunks, base + CHUNK_BLOCK_SHIFT);
  // A chunk never seen, entered at its first page by a stream from its left
  // neighbour, keeps that stream's block.
  if (Atomics.load(chunks, base + CHUNK_CHANGES) === 0 && page % CHUNK_PAGES === 0 && base > 0) {
    const left = base - CHUNK_STRIDE;
    if (continuesStream(chunks, left, page)) return 1 << Atomics.load(chunks, left + CHUNK_BLOCK_SHIFT);
  }
  return 1 << MIN_BLOCK_SHIFT;
}

/** Whether `page` is where one of the chunk's streams ended (ends are stored +1). */
function continuesStream(chunks: Int32Array, base: number, page: number): boolean {
  return page + 1 === Atomics.load(chunks, base + CHUNK_STREAM_A) || page + 1 === Atomics.load(chunks, base + CHUNK_STREAM_B);
}

/**
 * Records a MISSING fault at `page` served by the block [start, end), and
 * re-evaluates the chunk's block every WINDOW misses (elastic only).
 */
export function recordMiss(chunks: Int32Array, page: number, start: number, end: number, policy: BlockPolicy): void {
  const chunk = Math.floor(page / CHUNK_PAGES);
  const base = chunk * CHUNK_STRIDE;
  if (Atomics.load(chunks, base + CHUNK_CHANGES) === 0) {
    // First fault here: start from the left neighbour's block if it has one.
    if (policy.kind === 'elastic' && chunk > 0 && Atomics.load(chunks, base - CHUNK_STRIDE + CHUNK_CHANGES) > 0) {
      Atomics.store(chunks, base + CHUNK_BLOCK_SHIFT, Atomics.load(chunks, base - CHUNK_STRIDE + CHUNK_BLOCK_SHIFT));
    }
    Atomics.store(chunks, base + CHUNK_CHANGES, 1);
  }
  const a = Atomics.load(chunks, base + CHUNK_STREAM_A);
  const b = Atomics.load(chunks, base + CHUNK_STREAM_B);
  // Stream ends are stored +1 so that 0 means "none".
  const sequential = page + 1 === a || page + 1 === b;
  if (page + 1 === a) Atomics.store(chunks, base + CHUNK_STREAM_A, end + 1);
  else if (page + 1 === b) Atomics.store(chunks, base + CHUNK_STREAM_B, end + 1);
  else {
    Atomics.store(chunks, base + CHUNK_STREAM_B, a);
    Atomics.store(chunks, base + CHUNK_STREAM_A, end + 1);
  }
  if (sequential) Atomics.add(chunks, base + CHUNK_SEQUENTIAL, 1);
  const misses = Atomics.add(chunks, base + CHUNK_MISSES, 1) + 1;
  if (policy.kind !== 'elastic' || misses < WINDOW) return;
  evaluate(chunks, base);
}

/** A probe page of this chunk was touched (hit) or evicted untouched (waste). */
export function recordProbe(chunks: Int32Array, page: number, hit: boolean): void {
  const base = Math.floor(page / CHUNK_PAGES) * CHUNK_STRIDE;
  Atomics.add(chunks, base + (hit ? CHUNK_PROBE_HITS : CHUNK_PROBE_WASTE), 1);
}

function evaluate(chunks: Int32Array, base: number): void {
  const misses = Atomics.exchange(chunks, base + CHUNK_MISSES, 0);
  if (misses < WINDOW) {
    // Another lane evaluated first: give the misses back.
    Atomics.add(chunks, base + CHUNK_MISSES, misses);
    return;
  }
  const sequential = Atomics.exchange(chunks, base + CHUNK_SEQUENTIAL, 0);
  const hits = Atomics.load(chunks, base + CHUNK_PROBE_HITS);
  const waste = Atomics.load(chunks, base + CHUNK_PROBE_WASTE);
  const shift = Atomics.load(chunks, base + CHUNK_BLOCK_SHIFT);
  const ratio = sequential / misses;
  let next = shift;
  if (ratio >= GROW_AT) next = shift + 1;
  else if (sequential === 0) next = MIN_BLOCK_SHIFT; // no locality at all: straight to 4 KiB
  else if (ratio < SHRINK_BELOW) next = shift - 1;
  if (hits + waste >= 16) {
    if (waste > 2 * hits && next >= shift) next = shift - 1;
    Atomics.store(chunks, base + CHUNK_PROBE_HITS, 0);
    Atomics.store(chunks, base + CHUNK_PROBE_WASTE, 0);
  }
  next = Math.max(MIN_BLOCK_SHIFT, Math.min(MAX_BLOCK_SHIFT, next));
  if (next !== shift) {
    Atomics.store(chunks, base + CHUNK_BLOCK_SHIFT, next);
    Atomics.add(chunks, base + CHUNK_CHANGES, 1);
  }
}

/** Histogram of block sizes over touched chunks: { '4k': n, '8k': n, ... }. */
export function blockHistogram(chunks: Int32Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let shift = MIN_BLOCK_SHIFT; shift <= MAX_BLOCK_SHIFT; shift++) out[`${4 << shift}k`] = 0;
  for (let base = 0; base < chunks.length; base += CHUNK_STRIDE) {
    if (Atomics.load(chunks, base + CHUNK_CHANGES) === 0) continue;
    out[`${4 << Atomics.load(chunks, base + CHUNK_BLOCK_SHIFT)}k`]++;
  }
  return out;
}
