/**
 * The reclaimer's loop: keeps the free budget between the low and the high
 * watermark ahead of demand, on its own thread (the idle core), so that
 * eviction and writeback overlap with the lanes' fetches. Runs on a pager
 * worker (pager-worker.ts).
 */
import { CTL_FREED_SEQ, CTL_KICK_SEQ, CTL_SETTLE, CTL_STOP } from '../paging/layout';
import { isCloseError, recordFailure } from '../paging/failure';
import { Evictor } from './evictor';
import type { PagerConfig, WorkerReport } from './lane-init';

/** Reclaims until the region closes; throws what stopped it otherwise, after telling waiting lanes. */
export function runReclaimer(config: PagerConfig, report: (message: WorkerReport) => void): void {
  try {
    reclaim(config, report);
  } catch (error) {
    const e = error as Error & { errno?: number };
    const control = new Int32Array(config.shared.control);
    if (!isCloseError(e, control)) {
      // Lanes waiting for budget must learn that none will come.
      recordFailure(control, config.shared.failure, typeof e.errno === 'number' ? e.errno : 0, `the reclaimer stopped: ${e.message}`);
      Atomics.add(control, CTL_FREED_SEQ, 1);
      Atomics.notify(control, CTL_FREED_SEQ);
    }
    throw error;
  }
}

function reclaim(config: PagerConfig, report: (message: WorkerReport) => void): void {
  const evictor = new Evictor(config);
  const control = new Int32Array(config.shared.control);
  report({ type: 'ready' });
  try {
    while (Atomics.load(control, CTL_STOP) === 0) {
      // A settle request (Region.settle): the high watermark now, even above
      // the low one; cleared once met.
      const settling = Atomics.load(control, CTL_SETTLE) !== 0;
      if (evictor.freePages() >= (settling ? config.highFreePages : config.lowFreePages)) {
        if (settling) {
          Atomics.store(control, CTL_SETTLE, 0);
          continue;
        }
        const seq = Atomics.load(control, CTL_KICK_SEQ);
        if (evictor.freePages() >= config.lowFreePages && Atomics.load(control, CTL_SETTLE) === 0) Atomics.wait(control, CTL_KICK_SEQ, seq, 50);
        continue;
      }
      while (evictor.freePages() < config.highFreePages && Atomics.load(control, CTL_STOP) === 0) {
        if (evictor.evictBatch() === 0) {
          // Everything local is busy: look again when kicked; a settle request is dropped.
          Atomics.store(control, CTL_SETTLE, 0);
          break;
        }
      }
    }
  } finally {
    evictor.close();
  }
}
