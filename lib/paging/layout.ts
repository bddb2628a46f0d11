/**
 * Every SharedArrayBuffer structure of a paged region, and every offset in
 * it, by name. Nothing else in dmem indexes these arrays with bare numbers.
 *
 * Contract (who writes what):
 * - page states: any lane (MPMC) and the reclaimer, only by compare-exchange
 *   along the transitions of page-state.ts; readers use Atomics.load.
 * - page flags: lanes set REF and DIRTY (Atomics.or); the reclaimer clears
 *   them (Atomics.and) while it owns the page (state EVICTING).
 * - eviction stamps: the reclaimer writes a page's stamp while it owns the
 *   page (EVICTING), before the release that makes it REMOTE or ZERO; a lane
 *   reads it after claiming the page (FETCHING), so the stamp it reads is
 *   the one of the page's last eviction.
 * - chunk table: each chunk's fields are updated by the lane that takes a
 *   fault in it; several lanes may race on one chunk. The fields are hints
 *   for the block policy, so a lost update costs accuracy, never
 *   correctness; they are still read and written with Atomics.
 * - control block: LOCAL_PAGES by compare-exchange (lanes reserve, the
 *   reclaimer releases); sequence counters are futexes for Atomics.wait.
 * - lane stats: each lane writes only its own row (single writer); the main
 *   thread reads them live. Rows are padded to 128 bytes so that two lanes
 *   never write one cache line.
 */

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

/** A chunk is the unit of the elastic block policy: 2 MiB, 512 pages. */
export const CHUNK_PAGES = 512;
/** Block sizes are 2^0 .. 2^6 pages: 4 KiB .. 256 KiB. */
export const MIN_BLOCK_SHIFT = 0;
export const MAX_BLOCK_SHIFT = 6;

// ---- page flags (Uint8Array, one byte per page)
/** Touched since the reclaimer last looked (set by MINOR faults and installs). */
export const FLAG_REF = 1 << 0;
/** Written since it was last clean (write faults, WP faults). */
export const FLAG_DIRTY = 1 << 1;
/** The memory node holds this page's data (fetched from it, or written back). */
export const FLAG_REMOTE_VALID = 1 << 2;
/** Installed unmapped as part of a probe block and not touched yet. */
export const FLAG_PROBE = 1 << 3;
/** With FLAG_PROBE: the probe of a miss that continued no stream (a density probe: elastic-block.ts). */
export const FLAG_DENSE_PROBE = 1 << 4;
/** A page of a multi-page block installed since the CLOCK hand last passed: spared once, without a zap (its age, not its use). */
export const FLAG_NEW = 1 << 5;
/**
 * On a page not local (ZERO or REMOTE): a density probe's ghost sentinel,
 * nothing fetched (elastic-block.ts). Its miss within the probe's window is
 * a hit; fetched first with another page's density block, it becomes a
 * fetched sentinel (FLAG_PROBE | FLAG_DENSE_PROBE), with a stream's block it
 * is cancelled; untouched when the window passes, waste (lanes/ghost-probes.ts).
 */
export const FLAG_GHOST = 1 << 6;

// ---- chunk table (Int32Array, CHUNK_STRIDE ints per chunk: two 64-byte lines)
export const CHUNK_STRIDE = 32;
/** The index in the chunk table of the chunk that holds `page`: add a CHUNK_ field. */
export function chunkBase(page: number): number {
  return Math.floor(page / CHUNK_PAGES) * CHUNK_STRIDE;
}
export const CHUNK_BLOCK_SHIFT = 0;
export const CHUNK_MISSES = 1;
export const CHUNK_SEQUENTIAL = 2;
export const CHUNK_PROBE_HITS = 3;
export const CHUNK_PROBE_WASTE = 4;
export const CHUNK_CHANGES = 5;
/** Write-protect faults and write-protected installs (faults) here, halved together as they grow. */
export const CHUNK_WP_FAULTS = 6;
export const CHUNK_INSTALLS = 7;
/**
 * CHUNK_STREAM_SLOTS streams, most recent first: slot i is the pair
 * (first page, page past the end) of the stream's last block, both stored +1
 * so that 0 means "none".
 */
export const CHUNK_STREAMS = 8;
export const CHUNK_STREAM_SLOTS = 4;
/** The block (log2 pages) of misses that continue no stream, and the density probes that steer it. */
export const CHUNK_DENSE_SHIFT = 16;
export const CHUNK_DENSE_HITS = 17;
export const CHUNK_DENSE_WASTE = 18;
/** The largest stream block (log2 pages) that probes allow, and the evaluations since it was last set. */
export const CHUNK_STREAM_CAP = 19;
export const CHUNK_CAP_AGE = 20;
/** Evaluations without a verdict before the cap is raised to look again: doubles each time the look wastes. */
export const CHUNK_CAP_PERIOD = 21;
/** The page of the chunk's last WP fault, plus one (0: none). */
export const CHUNK_LAST_WP = 22;
/**
 * Misses continuing no stream since the last density probe, and the log2 of
 * the probe period's multiple of probeEvery, or DENSE_RISING.
 */
export const CHUNK_DENSE_MISSES = 23;
export const CHUNK_DENSE_BACKOFF = 24;
/** CHUNK_DENSE_BACKOFF while the density block is rising (no verdict yet, or the last one grew it): probed at a rapid rate. */
export const DENSE_RISING = -1;
/** Multi-page stream blocks since the last stream probe, and the log2 of the probe period's multiple. */
export const CHUNK_STREAM_BLOCKS = 25;
export const CHUNK_STREAM_BACKOFF = 26;
/**
 * Per stream slot (CHUNK_STREAM_SLOTS ints): the blocks its stream has run,
 * up to MAX_STREAM_RUN, with STREAM_STRIDED set once it has skipped pages
 * after a single-page block (a strided walk: elastic-block.ts).
 */
export const CHUNK_STREAM_RUNS = 27;
export const MAX_STREAM_RUN = 255;
export const STREAM_STRIDED = 256;
/** Density-probe sentinels installed and not yet decided (hit or waste): with the decided ones not yet judged, the probes out (elastic-block.ts). */
export const CHUNK_DENSE_PENDING = 31;

// ---- control block (Int32Array); each field on its own 64-byte line
const LINE = 16; // int32s per cache line
export const CTL_LOCAL_PAGES = 0 * LINE;
export const CTL_BUDGET_PAGES = 1 * LINE;
/** Bumped (and notified) whenever the reclaimer frees budget. */
export const CTL_FREED_SEQ = 2 * LINE;
/** Bumped (and notified) by a lane that needs the reclaimer. */
export const CTL_KICK_SEQ = 3 * LINE;
/** Non-zero: lanes and reclaimer stop. */
export const CTL_STOP = 4 * LINE;
/** errno of a fatal data-path failure (the memory node is gone), else 0. */
export const CTL_FAILED = 5 * LINE;
/** Page states changed away from FETCHING or EVICTING; waiters re-check. */
export const CTL_SETTLED_SEQ = 6 * LINE;
/** Pages evicted so far (wrapping int32): the clock that refault distances are read on. */
export const CTL_EVICTIONS = 7 * LINE;
/** Non-zero: Region.settle asks the reclaimer to restore its high watermark now; it clears the word when there (or gives up). */
export const CTL_SETTLE = 8 * LINE;
export const CTL_INTS = 9 * LINE;

// ---- lane stats (Float64Array, LANE_STRIDE doubles per lane)
export const LANE_STRIDE = 24;
export const LANE_MISSING = 0;
export const LANE_MINOR = 1;
export const LANE_WP = 2;
export const LANE_ZERO_FILLED = 3;
export const LANE_PAGES_FETCHED = 4;
export const LANE_BYTES_FETCHED = 5;
export const LANE_PREFETCH_HITS = 6;
export const LANE_PROBE_PAGES = 7;
export const LANE_BUDGET_WAITS = 8;
export const LANE_STATE_WAITS = 9;
export const LANE_SERVICE_US = 10;
export const LANE_FAULTS = 11;
export const LANE_STALE = 12;
/** Fetches of pages evicted recently (refault distance within REFAULT_WINDOW): installed referenced. */
export const LANE_REFAULTS = 13;
/** Density-probe sentinels decided waste by their lane once their window passed (lanes/sentinel-watch.ts). */
export const LANE_PROBES_EXPIRED = 14;
/** Density probes by ghost sentinel (nothing fetched: elastic-block.ts): placed, and decided hit or waste. */
export const LANE_GHOSTS = 15;
export const LANE_GHOST_HITS = 16;
export const LANE_GHOSTS_WASTED = 17;

/** Fault service time histogram: bucket i counts services in [2^i, 2^(i+1)) µs. */
export const HISTOGRAM_BUCKETS = 24;

// ---- reclaimer stats (Float64Array)
export const RECLAIM_EVICTED_CLEAN = 0;
export const RECLAIM_EVICTED_DIRTY = 1;
export const RECLAIM_BYTES_WRITTEN = 2;
export const RECLAIM_PREFETCH_WASTE = 3;
export const RECLAIM_ZAPPED_PAGES = 4;
export const RECLAIM_ZAP_CALLS = 5;
export const RECLAIM_SWEEPS = 6;
export const RECLAIM_BATCHES = 7;
export const RECLAIM_INTS = 16;

/** The shared memory of one paged region; structured-cloneable to workers. */
export interface PagerShared {
  pages: number;
  states: SharedArrayBuffer; // Uint8Array(pages)
  flags: SharedArrayBuffer; // Uint8Array(pages)
  /** The lane that last installed each page, plus one (0: none yet); written by that lane. */
  owners: SharedArrayBuffer; // Uint8Array(pages)
  chunks: SharedArrayBuffer; // Int32Array(chunks * CHUNK_STRIDE)
  control: SharedArrayBuffer; // Int32Array(CTL_INTS)
  laneStats: SharedArrayBuffer; // Float64Array(lanes * LANE_STRIDE)
  histogram: SharedArrayBuffer; // Float64Array(lanes * HISTOGRAM_BUCKETS)
  reclaimStats: SharedArrayBuffer; // Float64Array(RECLAIM_INTS)
  /** CTL_EVICTIONS when each page was last evicted (0: never); written by the reclaimer while it owns the page. */
  evictedAt: SharedArrayBuffer; // Int32Array(pages)
  /** The first failure's message (lib/paging/failure.ts). */
  failure: SharedArrayBuffer; // FAILURE_BYTES
}

export const FAILURE_BYTES = 1024;

export function chunkCount(pages: number): number {
  return Math.ceil(pages / CHUNK_PAGES);
}

export function allocatePagerShared(pages: number, lanes: number, budgetPages: number, initialBlockShift: number): PagerShared {
  const shared: PagerShared = {
    pages,
    states: new SharedArrayBuffer(pages),
    flags: new SharedArrayBuffer(pages),
    owners: new SharedArrayBuffer(pages),
    chunks: new SharedArrayBuffer(chunkCount(pages) * CHUNK_STRIDE * 4),
    control: new SharedArrayBuffer(CTL_INTS * 4),
    laneStats: new SharedArrayBuffer(lanes * LANE_STRIDE * 8),
    histogram: new SharedArrayBuffer(lanes * HISTOGRAM_BUCKETS * 8),
    reclaimStats: new SharedArrayBuffer(RECLAIM_INTS * 8),
    evictedAt: new SharedArrayBuffer(pages * 4),
    failure: new SharedArrayBuffer(FAILURE_BYTES),
  };
  const chunks = new Int32Array(shared.chunks);
  for (let c = 0; c < chunkCount(pages); c++) {
    chunks[c * CHUNK_STRIDE + CHUNK_BLOCK_SHIFT] = initialBlockShift;
    chunks[c * CHUNK_STRIDE + CHUNK_STREAM_CAP] = MAX_BLOCK_SHIFT;
    chunks[c * CHUNK_STRIDE + CHUNK_DENSE_BACKOFF] = DENSE_RISING;
  }
  const control = new Int32Array(shared.control);
  control[CTL_BUDGET_PAGES] = budgetPages;
  return shared;
}
