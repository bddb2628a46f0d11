/**
 * Worker entry of the pager's threads. A worker serves one region at a time,
 * as a lane or as the reclaimer: the region posts { type: 'run', role, init },
 * the worker answers 'ready', serves until the region closes, and answers
 * 'done'. It then waits for the next region (a PagerPool keeps it, its code
 * compiled: lib/region/pager-pool.ts) or for { type: 'exit' }. While it
 * serves, its event loop is blocked in the loop; nothing arrives meanwhile.
 */
import { parentPort } from 'node:worker_threads';
import { CTL_STOP } from '../paging/layout';
import type { PagerCommand, WorkerReport } from './lane-init';
import { runLane } from './pager-lane';
import { runReclaimer } from './reclaimer';

function report(message: WorkerReport): void {
  parentPort?.postMessage(message);
}

function serve(command: Extract<PagerCommand, { type: 'run' }>): boolean {
  try {
    if (command.role === 'lane') runLane(command.init, report);
    else runReclaimer(command.init, report);
    return true;
  } catch (error) {
    const e = error as Error & { code?: string };
    // Closing the region fails whatever was in flight: that is the close, not a failure.
    if (e.message === 'region closed' || Atomics.load(new Int32Array(command.init.shared.control), CTL_STOP) !== 0) return true;
    report({ type: 'failed', message: e.message, code: e.code });
    return false;
  }
}

parentPort?.on('message', (command: PagerCommand) => {
  if (command.type === 'exit') {
    parentPort?.close(); // nothing else holds the event loop: the worker ends
    return;
  }
  report({ type: 'done', clean: serve(command) });
});
