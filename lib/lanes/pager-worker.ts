/**
 * Worker entry of the pager's threads. A worker serves one region at a time,
 * as a lane or as the reclaimer: the region posts { type: 'run', role, init },
 * the worker answers 'ready', serves until the region closes, and answers
 * 'done'. It then waits for the next region (a PagerPool keeps it, its code
 * compiled: lib/region/pager-pool.ts) or for { type: 'exit' }. While it
 * serves, its event loop is blocked in the loop; nothing arrives meanwhile.
 */
import { parentPort } from 'node:worker_threads';
import { isCloseError } from '../paging/failure';
import type { PagerCommand, WorkerReport } from './lane-init';
import { runLane } from './pager-lane';
import { runReclaimer } from './reclaimer';
import { setThreadNice } from './thread-priority';

function report(message: WorkerReport): void {
  parentPort?.postMessage(message);
}

/** Serves one region; true when the worker may serve another (its loop ended with the close, its priority given back). */
function serve(command: Extract<PagerCommand, { type: 'run' }>): boolean {
  // A lane serves at the priority its region asks for, and gives it back:
  // the worker may serve another region next (a PagerPool).
  let previous: number | undefined;
  let priority: { nice?: number; niceError?: string } = {};
  if (command.role === 'lane' && command.init.nice !== null) {
    try {
      previous = setThreadNice(command.init.nice);
      priority = { nice: command.init.nice };
    } catch (error) {
      // Node's SystemError: the errno's name is in info.code (EACCES).
      const e = error as Error & { code?: string; info?: { code?: string } };
      priority = { niceError: e.info?.code ?? e.code ?? e.message };
    }
  }
  const tell = (message: WorkerReport): void => report(message.type === 'ready' ? { ...message, ...priority } : message);
  const clean = run(command, tell);
  if (previous === undefined) return clean;
  try {
    setThreadNice(previous);
    return clean;
  } catch {
    // Back up from a lowered priority (laneNice above the process's) needs
    // the privilege the process lacks: this worker serves no other region.
    return false;
  }
}

function run(command: Extract<PagerCommand, { type: 'run' }>, tell: (message: WorkerReport) => void): boolean {
  try {
    if (command.role === 'lane') runLane(command.init, tell);
    else runReclaimer(command.init, tell);
    return true;
  } catch (error) {
    const e = error as Error & { code?: string };
    if (isCloseError(e, new Int32Array(command.init.shared.control))) return true;
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
