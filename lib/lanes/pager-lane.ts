/**
 * A pager lane's loop: blocking reads of fault events, each resolved
 * synchronously by the FaultHandler. No Promise, no event-loop hop and no
 * allocation per fault. Returns when the region closes. Runs on a pager
 * worker (pager-worker.ts).
 */
import { EVENT_KIND, EVENT_OFFSET, EVENT_STRIDE, EVENT_WRITE, eventBuffer } from '../uffd/event-layout';
import { CTL_STOP, PAGE_SHIFT } from '../paging/layout';
import { isCloseError } from '../paging/failure';
import { FaultHandler } from './fault-handler';
import type { LaneInit, WorkerReport } from './lane-init';

/** Serves the region's faults until it closes; throws what stopped it otherwise. */
export function runLane(init: LaneInit, report: (message: WorkerReport) => void): void {
  const handler = new FaultHandler(init);
  const control = new Int32Array(init.shared.control);
  const events = eventBuffer(64);
  report({ type: 'ready' });
  try {
    while (Atomics.load(control, CTL_STOP) === 0) {
      const n = handler.region.readEvents(events, 200);
      if (n < 0) break; // the region is closed
      for (let i = 0; i < n; i++) {
        const started = performance.now();
        const at = i * EVENT_STRIDE;
        const page = events[at + EVENT_OFFSET] / 2 ** PAGE_SHIFT;
        try {
          handler.handle(page, events[at + EVENT_KIND], events[at + EVENT_WRITE] === 1, started);
        } catch (error) {
          if (isCloseError(error, control)) throw error;
          // Never leave a thread blocked, and never lose the lane: record the
          // failure, release the faulting thread with SIGBUS, serve on.
          handler.failFault(page, error as Error & { errno?: number });
          report({ type: 'failed', message: (error as Error).message, code: (error as { code?: string }).code });
        }
      }
    }
  } finally {
    handler.close();
  }
}
