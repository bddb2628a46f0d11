/**
 * Worker entry of the reclaimer: keeps the free budget between the low and
 * the high watermark ahead of demand, on its own thread (the idle core), so
 * that eviction and writeback overlap with the lanes' fetches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CTL_FREED_SEQ, CTL_KICK_SEQ, CTL_SETTLE, CTL_STOP } from '../paging/layout';
import { recordFailure } from '../paging/failure';
import { Evictor } from './evictor';
import type { PagerConfig, WorkerReport } from './lane-init';

function report(message: WorkerReport): void {
  parentPort?.postMessage(message);
}

function run(config: PagerConfig): void {
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

try {
  run(workerData as PagerConfig);
} catch (error) {
  const e = error as Error & { code?: string; errno?: number };
  if (e.message !== 'region closed') {
    // Lanes waiting for budget must learn that none will come.
    const control = new Int32Array((workerData as PagerConfig).shared.control);
    recordFailure(control, (workerData as PagerConfig).shared.failure, typeof e.errno === 'number' ? e.errno : 0, `the reclaimer stopped: ${e.message}`);
    Atomics.add(control, CTL_FREED_SEQ, 1);
    Atomics.notify(control, CTL_FREED_SEQ);
    report({ type: 'failed', message: e.message, code: e.code });
  }
}
