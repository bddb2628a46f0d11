/** What a pager lane or the reclaimer is given for a region (pager-worker.ts: PagerCommand). */
import type { PagerShared } from '../paging/layout';
import type { SlabTable } from '../paging/remote-map';
import type { BlockPolicy } from '../paging/elastic-block';
import type { RemoteSessionHandle } from '../transport/remote-session';
import type { UffdRegionHandle } from '../uffd/uffd-region';

export type DirtyTracking = 'wp' | 'always';
export type Replacement = 'clock' | 'fifo';

export interface PagerConfig {
  region: UffdRegionHandle;
  shared: PagerShared;
  session: RemoteSessionHandle;
  slabs: SlabTable;
  policy: BlockPolicy;
  /**
   * Writes are tracked by sync WP faults (the region is registered for WP and
   * CONTINUE can map write-protected): clean pages are dropped without a
   * writeback. Otherwise every evicted page is written back.
   */
  trackWrites: boolean;
  replacement: Replacement;
  /** Every probeEvery-th stream block and isolated miss of a lane is a probe (0: never; elastic-block.ts). */
  probeEvery: number;
  /** The reclaimer runs while fewer pages than this are free... */
  lowFreePages: number;
  /** ...and stops once this many are. */
  highFreePages: number;
}

export interface LaneInit extends PagerConfig {
  lane: number;
  /** The nice value the lane's thread serves at (thread-priority.ts), restored after; null: left as it is. */
  nice: number | null;
}

/** Messages from the region (or a PagerPool) to a pager worker. */
export type PagerCommand = { type: 'run'; role: 'lane'; init: LaneInit } | { type: 'run'; role: 'reclaimer'; init: PagerConfig } | { type: 'exit' };

/**
 * Messages from a pager worker to the region: 'ready' once serving, 'failed'
 * for each failure, 'done' once the region's loop has returned and its
 * resources are closed (`clean`: it returned because the region closed).
 */
export type WorkerReport =
  /** `nice`: the thread's nice value as it serves; `niceError`: why the one asked for could not be set. */
  | { type: 'ready'; nice?: number; niceError?: string }
  | { type: 'failed'; message: string; code?: string }
  | { type: 'done'; clean: boolean };
