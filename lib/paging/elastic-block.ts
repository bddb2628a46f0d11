/**
 * Elastic block policy: per 2 MiB chunk, the fetch block (4 KiB .. 256 KiB)
 * follows the spatial locality that faults in that chunk show.
 *
 * Signals, per chunk:
 * - the stream test: a MISSING fault *continues a stream* when it lands where
 *   one of the chunk's CHUNK_STREAM_SLOTS most recent streams left off: at
 *   (or up to STREAM_GAP - 1 pages past) the end of its last block, or just
 *   before its start (a backward stream: the right-hand cursor of a
 *   partition). Several slots, most recent first, so that interleaved
 *   streams (a triad's inputs, a partition's two cursors, two vCPUs) all
 *   count. The pages skipped must be local (a scan over partly-local memory
 *   faults past them), or the stream strided: it skipped pages after a
 *   single-page block, where a skip is the walk's stride (the rows of a
 *   column-blocked stencil, under STREAM_GAP pages apart). A forward or
 *   backward scan faults only where its blocks end: every fault continues
 *   it. Uniform random faults almost never do. A fault next to a
 *   neighbouring chunk's stream continues that stream. A continuation counts
 *   as sequential once its stream has run two blocks (a pair of adjacent
 *   misses is no scan).
 * - probes: a sample of blocks is installed with only the faulting page
 *   mapped; touches of the others (MINOR faults) are prefetch hits, and
 *   probe pages evicted untouched are waste.
 *
 * - density probes: locality without streams (a hot region touched in no
 *   order: a cache's slabs, a heap) shows as pages near a miss being touched
 *   soon after it. Every probeEvery-th miss of a chunk that continues no
 *   stream (more often while the block is rising, less often where probes
 *   keep finding nothing to change) is fetched with
 *   twice the chunk's density block, and the faulting page's counterpart in
 *   the other half is left unmapped: its touch soon after is a hit (a larger
 *   block would have been used), a late touch or its eviction untouched is
 *   waste (paging/refault.ts: DENSE_HIT_WINDOW). In a chunk whose verdicts
 *   keep it at a single page the counterpart is not fetched at all: left
 *   remote as a ghost sentinel, its miss soon after is the hit
 *   (lanes/ghost-probes.ts); a chunk that showed no locality pays nothing
 *   for its probes.
 *
 * The chunk's block is used for misses that continue one of its streams,
 * except that the first continuation of a single-page block fetches at most
 * 16 KiB (two adjacent random misses are not yet a stream); a stream crossing
 * in from a neighbouring chunk brings its block (streamPagesFor) and its
 * stream probes (carryStreamProbes). Any other
 * miss fetches the chunk's density block (isolatedMissPages), 4 KiB until
 * density probes hit: it
 * quadruples when all DENSE_SAMPLES probes hit, doubles when at least 3 in 4
 * do, and halves when fewer than 1 in 4 do.
 *
 * Every WINDOW misses the chunk is re-evaluated: every miss sequential → the
 * block times four (a confirmed scan); mostly sequential → double it; not sequential at all → straight back to 4 KiB (a chunk that
 * grew during an initialising scan must not pay 256 KiB per cold miss for
 * several windows); rarely sequential → halve it. Stream probes cap it:
 * when more of STREAM_SAMPLES probes waste than hit, the block is held
 * below the size that wasted; when they hit, the cap rises one size; with
 * no verdict for CAP_RETRY evaluations, it rises one size to look again. So a scan grows to 256 KiB, random access settles
 * at 4 KiB, and alternating phases are followed within a few windows. A chunk
 * seen for the first time starts from the block of the stream that crossed
 * into it, else from its left neighbour's.
 */
import {
  CHUNK_BLOCK_SHIFT,
  CHUNK_CAP_AGE,
  CHUNK_CAP_PERIOD,
  CHUNK_CHANGES,
  CHUNK_DENSE_BACKOFF,
  CHUNK_DENSE_HITS,
  CHUNK_DENSE_MISSES,
  CHUNK_DENSE_PENDING,
  CHUNK_DENSE_SHIFT,
  CHUNK_DENSE_WASTE,
  CHUNK_MISSES,
  CHUNK_PAGES,
  CHUNK_PROBE_HITS,
  CHUNK_PROBE_WASTE,
  CHUNK_SEQUENTIAL,
  CHUNK_STREAM_SLOTS,
  CHUNK_STREAM_BACKOFF,
  CHUNK_STREAM_BLOCKS,
  CHUNK_STREAM_CAP,
  CHUNK_STREAM_RUNS,
  CHUNK_STREAMS,
  CHUNK_STRIDE,
  DENSE_RISING,
  MAX_BLOCK_SHIFT,
  MAX_STREAM_RUN,
  MIN_BLOCK_SHIFT,
  STREAM_STRIDED,
  chunkBase,
} from './layout';
import { PageState, isLocal } from './page-state';

export const WINDOW = 4;
const GROW_AT = 0.5;
const SHRINK_BELOW = 0.25;
/** A stream may skip this many pages minus one between blocks (a strided walk: rows of a blocked stencil). */
const STREAM_GAP = 4;
/** A stream's first continuation fetches at most 2^FIRST_STEP_SHIFT pages (nextShift). */
const FIRST_STEP_SHIFT = 2;
/** Density probes per re-evaluation of a chunk's density block. */
const DENSE_SAMPLES = 8;
/**
 * A chunk's density probes run every probeEvery << backoff misses that
 * continue no stream. A verdict that finds nothing to change doubles the
 * period, up to 2^MAX_DENSE_BACKOFF times: at the smallest block, fewer than
 * half the probes hit (under uniform random access, gups, a probe costs a
 * page fetched and, half the time, a MINOR fault, for nothing); at the
 * largest, every probe hit (pagerank's contrib vector: a MINOR fault per
 * probe, to confirm 256 KiB again and again).
 */
const MAX_DENSE_BACKOFF = 3;
/**
 * While a chunk's density block is rising (no verdict yet, or the last one
 * grew it: DENSE_RISING), its density probes run every
 * probeEvery >> RISING_RATE_SHIFT misses instead: a verdict costs the same
 * eight probes at either rate, and a chunk that enters a dense phase at
 * 4 KiB pays small blocks until it has three verdicts (pagerank's contrib
 * vector: ~130 single-page misses per chunk and region before the first,
 * probed every 8th miss).
 */
const RISING_RATE_SHIFT = 2;
/**
 * The most density probes a chunk has out (pending or decided, not yet
 * judged). A verdict is taken on the first DENSE_SAMPLES decided, and hits
 * are decided at their touch, waste only when its window has passed: with
 * many probes out, early hits outvote the waste still pending (quick gups,
 * chance hits of 1 in 5: 624 probe pages with twice this bound, 431 with
 * it). Waiting for each verdict's own eight (a bound of DENSE_SAMPLES)
 * waits for the slowest sentinel, and a chunk entering a dense phase stays
 * at 4 KiB several times as long (quick pagerank: 1.19x the 64 KiB block's
 * time, against 1.01x with this bound).
 */
const MAX_DENSE_OUT = 2 * DENSE_SAMPLES;
/** Stream probes per verdict on the chunk's stream block. */
const STREAM_SAMPLES = 8;
/**
 * A chunk's stream probes run every other block of 16 pages or more (a
 * wasted large block costs a lot) and every probeEvery-th smaller one, times
 * 2^backoff: each verdict that finds the blocks used doubles the period, up
 * to 2^MAX_STREAM_BACKOFF times, and a single wasted probe resets it (a
 * verdict at the reduced rate would take many blocks to come). A probe
 * costs its sentinel's touch a MINOR fault; a scan whose blocks are all used
 * (pagerank's edge array) paid one per two blocks for nothing.
 */
const MAX_STREAM_BACKOFF = 4;
/**
 * Evaluations without a verdict after which a cap on the stream block is
 * raised by one size (re-exploring); doubled, up to CAP_RETRY_MAX, each time
 * the raised size wastes again.
 */
const CAP_RETRY = 16;
const CAP_RETRY_MAX = 1024;

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
  const base = chunkBase(page);
  return 1 << Atomics.load(chunks, base + CHUNK_BLOCK_SHIFT);
}

/**
 * Where the stream that a miss at `page` continues is kept: the index in
 * `chunks` of its slot (in `page`'s chunk or, for a stream crossing in, a
 * neighbour's), or -1 when it continues none. `states` (page states) tells
 * which skipped pages are local: a scan over partly-local memory faults
 * only past the pages it finds local, so a stream may skip those, and only
 * those (a strided walk, whose skipped pages are remote, is no scan).
 * Decided once per miss, before the fetch, and passed to streamPagesFor and
 * recordMiss: the fetch makes the skipped pages local.
 */
export function findStream(chunks: Int32Array, states: Uint8Array, page: number): number {
  const base = chunkBase(page);
  const slot = streamOf(chunks, states, base, page);
  if (slot >= 0) return base + CHUNK_STREAMS + 2 * slot;
  const neighbour = neighbourStream(chunks, states, base, page);
  return neighbour < 0 ? -1 : neighbour + CHUNK_STREAMS + 2 * streamOf(chunks, states, neighbour, page);
}

/**
 * The block to fetch for a miss that continues the stream at `stream`
 * (findStream), or 0 when it continues none (elastic; a fixed block is
 * always fetched whole). Such a miss fetches isolatedMissPages instead: a
 * cold miss in a chunk that once streamed (an initialising scan, say) must
 * not fetch 256 KiB it will not use. A stream that crosses into a
 * neighbouring chunk (either way) keeps the neighbour's block; a stream that
 * restarts pays one small fetch, then continues at full size.
 */
export function streamPagesFor(chunks: Int32Array, stream: number, policy: BlockPolicy): number {
  if (policy.kind === 'fixed') return 1 << policy.shift;
  return stream < 0 ? 0 : 1 << nextShift(chunks, stream);
}

/** The block a miss at `page` that continues no stream fetches (the density block): what refetching an evicted page costs. */
export function isolatedMissPages(chunks: Int32Array, page: number, policy: BlockPolicy): number {
  if (policy.kind === 'fixed') return 1 << policy.shift;
  return 1 << Atomics.load(chunks, chunkBase(page) + CHUNK_DENSE_SHIFT);
}

/**
 * The block for the next fetch of the stream in `slot`: the chunk's block,
 * except right after a single-page block (the first continuation of what
 * may be an isolated miss), which fetches at most 2^FIRST_STEP_SHIFT pages:
 * two random misses that happen to be adjacent, in a chunk that grew during
 * an initialising scan, fetch 16 KiB, not 256 KiB.
 */
function nextShift(chunks: Int32Array, at: number): number {
  const shift = Atomics.load(chunks, at - (at % CHUNK_STRIDE) + CHUNK_BLOCK_SHIFT);
  return Atomics.load(chunks, at + 1) - Atomics.load(chunks, at) > 1 ? shift : Math.min(shift, FIRST_STEP_SHIFT);
}

/**
 * The slot of the chunk at `base` whose stream `page` continues, or -1: the
 * page is where the stream's last block ended (a forward stream) or the one
 * just before where it started (a backward stream: a partition's right-hand
 * cursor, a descending loop), or lies up to STREAM_GAP - 1 local pages
 * beyond.
 */
function streamOf(chunks: Int32Array, states: Uint8Array, base: number, page: number): number {
  for (let i = 0; i < CHUNK_STREAM_SLOTS; i++) {
    const at = base + CHUNK_STREAMS + 2 * i;
    // Stored +1; an end of -1 is an empty slot.
    const end = Atomics.load(chunks, at + 1) - 1;
    if (end < 0) continue;
    const first = Atomics.load(chunks, at) - 1;
    // After a single-page block a skip is the walk's stride: a strided walk
    // of short stride continues over remote pages, and may go on doing so
    // once its blocks grow. After a larger block of any other stream, the
    // skip is wherever the block left off: only local pages may be skipped.
    const remoteSkips = end - first === 1 || (Atomics.load(chunks, base + CHUNK_STREAM_RUNS + i) & STREAM_STRIDED) !== 0;
    if (page >= end ? page < end + STREAM_GAP && (remoteSkips || areLocal(states, end, page)) : page < first && page >= first - STREAM_GAP && (remoteSkips || areLocal(states, page + 1, first))) return i;
  }
  return -1;
}

/** Whether every page in [from, to) is local or on its way (another lane fetching it). */
function areLocal(states: Uint8Array, from: number, to: number): boolean {
  for (let q = from; q < to; q++) {
    const state = Atomics.load(states, q);
    if (!isLocal(state) && state !== PageState.fetching) return false;
  }
  return true;
}

/**
 * The base of the neighbouring chunk whose stream crosses into this one at
 * `page` (near its first page, from the left; near its last, from the right),
 * or -1.
 */
function neighbourStream(chunks: Int32Array, states: Uint8Array, base: number, page: number): number {
  const within = page % CHUNK_PAGES;
  if (within < STREAM_GAP && base > 0 && streamOf(chunks, states, base - CHUNK_STRIDE, page) >= 0) return base - CHUNK_STRIDE;
  if (within >= CHUNK_PAGES - STREAM_GAP && base + CHUNK_STRIDE < chunks.length && streamOf(chunks, states, base + CHUNK_STRIDE, page) >= 0) {
    return base + CHUNK_STRIDE;
  }
  return -1;
}

/**
 * Records a MISSING fault at `page` served by the block [start, end), which
 * continued the stream at `stream` (findStream, before the fetch), and
 * re-evaluates the chunk's block every WINDOW misses (elastic only).
 */
export function recordMiss(chunks: Int32Array, page: number, start: number, end: number, stream: number, policy: BlockPolicy): void {
  const chunk = Math.floor(page / CHUNK_PAGES);
  const base = chunk * CHUNK_STRIDE;
  // The continued stream's chunk and slot there (findStream's index decoded).
  const owner = stream - (stream % CHUNK_STRIDE);
  const ownerSlot = (stream - owner - CHUNK_STREAMS) / 2;
  const slot = stream >= 0 && owner === base ? ownerSlot : -1;
  const neighbour = stream >= 0 && owner !== base ? owner : -1;
  if (policy.kind === 'elastic') {
    if (neighbour >= 0) {
      // A stream crossing in brings its block (to a chunk seen for the first
      // time, even a smaller one), and its stream probes.
      const theirs = Atomics.load(chunks, neighbour + CHUNK_BLOCK_SHIFT);
      if (theirs > Atomics.load(chunks, base + CHUNK_BLOCK_SHIFT) || Atomics.load(chunks, base + CHUNK_CHANGES) === 0) {
        Atomics.store(chunks, base + CHUNK_BLOCK_SHIFT, theirs);
      }
      carryStreamProbes(chunks, neighbour, base);
    } else if (Atomics.load(chunks, base + CHUNK_CHANGES) === 0 && chunk > 0 && Atomics.load(chunks, base - CHUNK_STRIDE + CHUNK_CHANGES) > 0) {
      // First fault here: start from the left neighbour's block.
      Atomics.store(chunks, base + CHUNK_BLOCK_SHIFT, Atomics.load(chunks, base - CHUNK_STRIDE + CHUNK_BLOCK_SHIFT));
    }
  }
  if (Atomics.load(chunks, base + CHUNK_CHANGES) === 0) Atomics.store(chunks, base + CHUNK_CHANGES, 1);
  // A miss counts as sequential when the stream it continues had run two
  // blocks or more (three for a strided one): a pair of adjacent misses (a
  // column segment straddling a page boundary, two random misses side by
  // side) is no scan, nor are three random misses a few pages apart
  // (uniform random access at 4 KiB counted 71 of 16,000 misses so, 2 with
  // the third block required).
  let runs = 0;
  if (stream >= 0) {
    runs = Atomics.load(chunks, owner + CHUNK_STREAM_RUNS + ownerSlot);
    // The stream's last block, [lastStart, lastEnd): single-page and skipped from, a strided walk.
    const lastStart = Atomics.load(chunks, stream) - 1;
    const lastEnd = Atomics.load(chunks, stream + 1) - 1;
    if (lastEnd - lastStart === 1 && (page > lastEnd || page < lastStart - 1)) runs |= STREAM_STRIDED;
  }
  if ((runs & MAX_STREAM_RUN) >= (runs & STREAM_STRIDED ? 3 : 2)) Atomics.add(chunks, base + CHUNK_SEQUENTIAL, 1);
  // The block becomes the most recent stream: the one it continues moves to
  // the front, or a new one replaces the least recent.
  for (let i = slot < 0 ? CHUNK_STREAM_SLOTS - 1 : slot; i > 0; i--) {
    const at = base + CHUNK_STREAMS + 2 * i;
    Atomics.store(chunks, at, Atomics.load(chunks, at - 2));
    Atomics.store(chunks, at + 1, Atomics.load(chunks, at - 1));
    Atomics.store(chunks, base + CHUNK_STREAM_RUNS + i, Atomics.load(chunks, base + CHUNK_STREAM_RUNS + i - 1));
  }
  Atomics.store(chunks, base + CHUNK_STREAMS, start + 1);
  Atomics.store(chunks, base + CHUNK_STREAMS + 1, end + 1);
  Atomics.store(chunks, base + CHUNK_STREAM_RUNS, (runs & STREAM_STRIDED) | Math.min(MAX_STREAM_RUN, (runs & MAX_STREAM_RUN) + 1));
  const misses = Atomics.add(chunks, base + CHUNK_MISSES, 1) + 1;
  if (policy.kind !== 'elastic' || misses < WINDOW) return;
  evaluate(chunks, base);
}

/**
 * A stream crossed from the chunk at `from` into the one at `to`: its probes'
 * samples not yet judged, its probe rate (backoff) and its count towards the
 * next probe go with it. A stream is one scan, and at 256 KiB a chunk holds
 * eight of its blocks: probed every other block, a chunk took a verdict (and
 * so backed off) once in two passes at best, and pagerank's edge array paid
 * a MINOR fault per two blocks in every pass.
 */
function carryStreamProbes(chunks: Int32Array, from: number, to: number): void {
  if (Atomics.load(chunks, from + CHUNK_STREAM_BACKOFF) > Atomics.load(chunks, to + CHUNK_STREAM_BACKOFF)) {
    Atomics.store(chunks, to + CHUNK_STREAM_BACKOFF, Atomics.load(chunks, from + CHUNK_STREAM_BACKOFF));
  }
  Atomics.add(chunks, to + CHUNK_PROBE_HITS, Atomics.exchange(chunks, from + CHUNK_PROBE_HITS, 0));
  Atomics.add(chunks, to + CHUNK_PROBE_WASTE, Atomics.exchange(chunks, from + CHUNK_PROBE_WASTE, 0));
  Atomics.store(chunks, to + CHUNK_STREAM_BLOCKS, Atomics.load(chunks, from + CHUNK_STREAM_BLOCKS));
}

/**
 * Counts a miss at `page` that continues no stream; true when it is the
 * chunk's turn for a density probe: every probeEvery << backoff such misses,
 * every probeEvery >> RISING_RATE_SHIFT while the block is rising, and none
 * while MAX_DENSE_OUT probes are out.
 */
export function isDensityProbeDue(chunks: Int32Array, page: number, probeEvery: number): boolean {
  const base = chunkBase(page);
  const out = Atomics.load(chunks, base + CHUNK_DENSE_PENDING) + Atomics.load(chunks, base + CHUNK_DENSE_HITS) + Atomics.load(chunks, base + CHUNK_DENSE_WASTE);
  if (out >= MAX_DENSE_OUT) return false;
  const backoff = Atomics.load(chunks, base + CHUNK_DENSE_BACKOFF);
  const period = backoff === DENSE_RISING ? Math.max(1, probeEvery >> RISING_RATE_SHIFT) : probeEvery << backoff;
  return countToPeriod(chunks, base + CHUNK_DENSE_MISSES, period);
}

/**
 * Whether the density probe of a miss at `page` is to leave its sentinel
 * remote (a ghost: lanes/ghost-probes.ts) rather than fetch it: in a chunk
 * whose verdicts keep it at a single page. While the block is rising (no
 * verdict yet, or growing), a fetched sentinel is a prefetch as often as
 * not: with ghosts for those too, quick db (16 KiB its best block, its
 * neighbours used past the probe's window) took 1.045x the 16 KiB block's
 * time against 1.011x, with 86 more misses.
 */
export function isGhostProbe(chunks: Int32Array, page: number, blockPages: number): boolean {
  return blockPages === 1 && Atomics.load(chunks, chunkBase(page) + CHUNK_DENSE_BACKOFF) !== DENSE_RISING;
}

/** A density probe's sentinel at `page` was installed: its verdict is pending (recordProbe decides it). */
export function densityProbePlaced(chunks: Int32Array, page: number): void {
  Atomics.add(chunks, chunkBase(page) + CHUNK_DENSE_PENDING, 1);
}

/** A density probe whose sentinel could not be placed (its page was local): the chunk's next such miss is due one. */
export function densityProbeDueAgain(chunks: Int32Array, page: number): void {
  Atomics.store(chunks, chunkBase(page) + CHUNK_DENSE_MISSES, DUE_NOW);
}

/** A density probe's sentinel at `page` can no longer be observed (a ghost fetched with a block that has a sentinel already, or a stream's): no verdict. */
export function densityProbeCancelled(chunks: Int32Array, page: number): void {
  Atomics.sub(chunks, chunkBase(page) + CHUNK_DENSE_PENDING, 1);
}

/** Counts a multi-page stream block of `blockPages` at `page`; true when it is the chunk's turn for a stream probe. */
export function isStreamProbeDue(chunks: Int32Array, page: number, blockPages: number, probeEvery: number): boolean {
  const base = chunkBase(page);
  return countToPeriod(chunks, base + CHUNK_STREAM_BLOCKS, (blockPages >= 16 ? 2 : probeEvery) << Atomics.load(chunks, base + CHUNK_STREAM_BACKOFF));
}

/** A probe counter at least any period: the next count is due. */
const DUE_NOW = 1 << 30;

/** Adds one to the counter at `at`; true (and the counter restarts) when it reaches `period`. */
function countToPeriod(chunks: Int32Array, at: number, period: number): boolean {
  if (Atomics.add(chunks, at, 1) + 1 < period) return false;
  // Lanes racing here may both see the period reached: at worst one extra probe.
  Atomics.store(chunks, at, 0);
  return true;
}

/** A probe page of this chunk was touched (hit) or evicted untouched (waste). */
export function recordProbe(chunks: Int32Array, page: number, hit: boolean, dense: boolean): void {
  const base = chunkBase(page);
  if (!dense) {
    Atomics.add(chunks, base + (hit ? CHUNK_PROBE_HITS : CHUNK_PROBE_WASTE), 1);
    if (!hit) Atomics.store(chunks, base + CHUNK_STREAM_BACKOFF, 0);
    return;
  }
  // Decided before it stops pending: isDensityProbeDue never sees a probe fewer out than there are.
  Atomics.add(chunks, base + (hit ? CHUNK_DENSE_HITS : CHUNK_DENSE_WASTE), 1);
  Atomics.sub(chunks, base + CHUNK_DENSE_PENDING, 1);
  if (Atomics.load(chunks, base + CHUNK_DENSE_HITS) + Atomics.load(chunks, base + CHUNK_DENSE_WASTE) < DENSE_SAMPLES) return;
  // Whoever takes the samples evaluates them (a lane and the reclaimer may race here).
  const hits = Atomics.exchange(chunks, base + CHUNK_DENSE_HITS, 0);
  const waste = Atomics.exchange(chunks, base + CHUNK_DENSE_WASTE, 0);
  const shift = Atomics.load(chunks, base + CHUNK_DENSE_SHIFT);
  let wanted = shift;
  if (waste === 0) wanted = shift + 2; // every probe hit: a dense region
  else if (4 * hits >= 3 * (hits + waste)) wanted = shift + 1;
  else if (4 * hits < hits + waste) wanted = shift - 1;
  const next = Math.max(MIN_BLOCK_SHIFT, Math.min(MAX_BLOCK_SHIFT, wanted));
  const backoff = Math.max(0, Atomics.load(chunks, base + CHUNK_DENSE_BACKOFF));
  if (next > shift) {
    Atomics.store(chunks, base + CHUNK_DENSE_BACKOFF, DENSE_RISING);
  } else if (wanted > shift || (shift === MIN_BLOCK_SHIFT && 2 * hits < hits + waste)) {
    // Nothing to change, so look less often: at the largest block, the
    // probes hit; at the smallest, fewer than half did, no locality worth a
    // larger block (uniform random access at 50% local hits about one in
    // five, by chance).
    Atomics.store(chunks, base + CHUNK_DENSE_BACKOFF, Math.min(MAX_DENSE_BACKOFF, backoff + 1));
  } else {
    Atomics.store(chunks, base + CHUNK_DENSE_BACKOFF, backoff);
  }
  if (next !== shift) Atomics.store(chunks, base + CHUNK_DENSE_SHIFT, next);
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
  if (sequential === misses) next = shift + 2; // every miss continued a stream: a confirmed scan
  else if (ratio >= GROW_AT) next = shift + 1;
  else if (sequential === 0) next = MIN_BLOCK_SHIFT; // no locality at all: straight to 4 KiB
  else if (ratio <= SHRINK_BELOW) next = shift - 1;
  // Probes cap the stream block: a strided walk continues its streams at
  // every miss, yet uses a third of each block (stencil at 128M: 7.6x the
  // pages a 4 KiB block fetched). Blocks whose far page is mostly evicted
  // untouched cap the block below their size; blocks used lift the cap by one.
  let cap = Atomics.load(chunks, base + CHUNK_STREAM_CAP);
  const period = Atomics.load(chunks, base + CHUNK_CAP_PERIOD) || CAP_RETRY;
  if (hits + waste >= STREAM_SAMPLES) {
    const backoff = Atomics.load(chunks, base + CHUNK_STREAM_BACKOFF);
    if (waste > hits) {
      // A second waste verdict on a re-explored size: look again less often.
      if (cap < MAX_BLOCK_SHIFT) Atomics.store(chunks, base + CHUNK_CAP_PERIOD, Math.min(CAP_RETRY_MAX, 2 * period));
      cap = Math.max(MIN_BLOCK_SHIFT, shift - 1);
      Atomics.store(chunks, base + CHUNK_STREAM_BACKOFF, 0);
    } else {
      if (shift >= cap) cap = Math.min(MAX_BLOCK_SHIFT, cap + 1);
      Atomics.store(chunks, base + CHUNK_CAP_PERIOD, CAP_RETRY);
      if (backoff < MAX_STREAM_BACKOFF) Atomics.store(chunks, base + CHUNK_STREAM_BACKOFF, backoff + 1);
    }
    Atomics.store(chunks, base + CHUNK_STREAM_CAP, cap);
    Atomics.store(chunks, base + CHUNK_CAP_AGE, 0);
    Atomics.store(chunks, base + CHUNK_PROBE_HITS, 0);
    Atomics.store(chunks, base + CHUNK_PROBE_WASTE, 0);
  } else if (cap < MAX_BLOCK_SHIFT && Atomics.add(chunks, base + CHUNK_CAP_AGE, 1) + 1 >= period) {
    cap++;
    Atomics.store(chunks, base + CHUNK_STREAM_CAP, cap);
    Atomics.store(chunks, base + CHUNK_CAP_AGE, 0);
  }
  next = Math.max(MIN_BLOCK_SHIFT, Math.min(MAX_BLOCK_SHIFT, cap, next));
  if (next !== shift) {
    Atomics.store(chunks, base + CHUNK_BLOCK_SHIFT, next);
    Atomics.add(chunks, base + CHUNK_CHANGES, 1);
  }
}

/** Histogram of block sizes over touched chunks (the larger of the stream and density blocks): { '4k': n, '8k': n, ... }. */
export function blockHistogram(chunks: Int32Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let shift = MIN_BLOCK_SHIFT; shift <= MAX_BLOCK_SHIFT; shift++) out[`${4 << shift}k`] = 0;
  for (let base = 0; base < chunks.length; base += CHUNK_STRIDE) {
    if (Atomics.load(chunks, base + CHUNK_CHANGES) === 0) continue;
    const shift = Math.max(Atomics.load(chunks, base + CHUNK_BLOCK_SHIFT), Atomics.load(chunks, base + CHUNK_DENSE_SHIFT));
    out[`${4 << shift}k`]++;
  }
  return out;
}
