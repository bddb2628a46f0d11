/** Live statistics of a paged region, read from shared memory without stopping anything. */
import { blockHistogram } from '../paging/elastic-block';
import {
  CTL_BUDGET_PAGES,
  CTL_LOCAL_PAGES,
  HISTOGRAM_BUCKETS,
  LANE_BUDGET_WAITS,
  LANE_BYTES_FETCHED,
  LANE_FAULTS,
  LANE_MINOR,
  LANE_MISSING,
  LANE_PAGES_FETCHED,
  LANE_PREFETCH_HITS,
  LANE_PROBE_PAGES,
  LANE_SERVICE_US,
  LANE_STALE,
  LANE_REFAULTS,
  LANE_PROBES_EXPIRED,
  LANE_GHOSTS,
  LANE_GHOST_HITS,
  LANE_GHOSTS_WASTED,
  LANE_STATE_WAITS,
  LANE_STRIDE,
  LANE_WP,
  LANE_ZERO_FILLED,
  RECLAIM_BATCHES,
  RECLAIM_BYTES_WRITTEN,
  RECLAIM_EVICTED_CLEAN,
  RECLAIM_EVICTED_DIRTY,
  RECLAIM_PREFETCH_WASTE,
  RECLAIM_SWEEPS,
  RECLAIM_ZAP_CALLS,
  RECLAIM_ZAPPED_PAGES,
  type PagerShared,
} from '../paging/layout';

export interface LaneStats {
  faults: { missing: number; minor: number; wp: number };
  zeroFilledPages: number;
  pagesFetched: number;
  bytesFetched: number;
  prefetchHits: number;
  probePages: number;
  budgetWaits: number;
  stateWaits: number;
  staleFaults: number;
  /** Fetches of pages evicted recently, installed referenced (paging/refault.ts). */
  recentRefaults: number;
  /** Density-probe sentinels decided waste once their window passed (lanes/sentinel-watch.ts); counted in prefetchWaste. */
  probesExpired: number;
  /** Density probes by ghost sentinel, which fetch nothing (paging/elastic-block.ts): placed, and decided so far. */
  ghostProbes: { placed: number; hits: number; wasted: number };
  meanServiceUs: number;
}

export interface RegionStats extends LaneStats {
  localPages: number;
  budgetPages: number;
  evictions: { clean: number; dirty: number };
  bytesWrittenBack: number;
  prefetchWaste: number;
  zappedPages: number;
  zapCalls: number;
  clockSweeps: number;
  evictionBatches: number;
  /** Chunks (2 MiB) per block size, over chunks that have faulted. */
  blockSizes: Record<string, number>;
  /** Fault service time histogram: bucket `2^i us` counts services in [2^i, 2^(i+1)) µs. */
  serviceTimeUs: Record<string, number>;
  lanes: LaneStats[];
}

export function readStats(shared: PagerShared, lanes: number): RegionStats {
  const control = new Int32Array(shared.control);
  const laneStats = new Float64Array(shared.laneStats);
  const histogram = new Float64Array(shared.histogram);
  const reclaim = new Float64Array(shared.reclaimStats);
  const perLane: LaneStats[] = [];
  for (let l = 0; l < lanes; l++) perLane.push(laneRow(laneStats, l * LANE_STRIDE));
  const total = laneRow(sumRows(laneStats, lanes), 0);
  const serviceTimeUs: Record<string, number> = {};
  for (let b = 0; b < HISTOGRAM_BUCKETS; b++) {
    let n = 0;
    for (let l = 0; l < lanes; l++) n += histogram[l * HISTOGRAM_BUCKETS + b];
    if (n > 0) serviceTimeUs[`${2 ** b}us`] = n;
  }
  return {
    ...total,
    localPages: Atomics.load(control, CTL_LOCAL_PAGES),
    budgetPages: Atomics.load(control, CTL_BUDGET_PAGES),
    evictions: { clean: reclaim[RECLAIM_EVICTED_CLEAN], dirty: reclaim[RECLAIM_EVICTED_DIRTY] },
    bytesWrittenBack: reclaim[RECLAIM_BYTES_WRITTEN],
    // Probe pages evicted untouched, and density sentinels their lane found untouched past their window.
    prefetchWaste: reclaim[RECLAIM_PREFETCH_WASTE] + total.probesExpired,
    zappedPages: reclaim[RECLAIM_ZAPPED_PAGES],
    zapCalls: reclaim[RECLAIM_ZAP_CALLS],
    clockSweeps: reclaim[RECLAIM_SWEEPS],
    evictionBatches: reclaim[RECLAIM_BATCHES],
    blockSizes: blockHistogram(new Int32Array(shared.chunks)),
    serviceTimeUs,
    lanes: perLane,
  };
}

function sumRows(rows: Float64Array, lanes: number): Float64Array {
  const sum = new Float64Array(LANE_STRIDE);
  for (let l = 0; l < lanes; l++) for (let i = 0; i < LANE_STRIDE; i++) sum[i] += rows[l * LANE_STRIDE + i];
  return sum;
}

function laneRow(rows: Float64Array, base: number): LaneStats {
  const faults = rows[base + LANE_FAULTS];
  return {
    faults: { missing: rows[base + LANE_MISSING], minor: rows[base + LANE_MINOR], wp: rows[base + LANE_WP] },
    zeroFilledPages: rows[base + LANE_ZERO_FILLED],
    pagesFetched: rows[base + LANE_PAGES_FETCHED],
    bytesFetched: rows[base + LANE_BYTES_FETCHED],
    prefetchHits: rows[base + LANE_PREFETCH_HITS],
    probePages: rows[base + LANE_PROBE_PAGES],
    budgetWaits: rows[base + LANE_BUDGET_WAITS],
    stateWaits: rows[base + LANE_STATE_WAITS],
    staleFaults: rows[base + LANE_STALE],
    recentRefaults: rows[base + LANE_REFAULTS],
    probesExpired: rows[base + LANE_PROBES_EXPIRED],
    ghostProbes: { placed: rows[base + LANE_GHOSTS], hits: rows[base + LANE_GHOST_HITS], wasted: rows[base + LANE_GHOSTS_WASTED] },
    meanServiceUs: faults > 0 ? rows[base + LANE_SERVICE_US] / faults : 0,
  };
}

