import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import {
  EVENT_KIND,
  EVENT_OFFSET,
  EVENT_STRIDE,
  EVENT_TID,
  EVENT_WRITE,
  eventBuffer,
  uffdAccess,
  type UffdRegion,
} from '../../dist/index.js';

export const PAGE = 4096;
export const MAX_OPS = 64;

/** Why real-fault tests cannot run here, or undefined when they can. */
export function uffdSkipReason(): string | undefined {
  try {
    uffdAccess();
    return undefined;
  } catch (error) {
    return `userfaultfd refused: ${(error as Error).message}`;
  }
}

export function printSkip(reason: string | undefined, what: string): void {
  if (reason !== undefined) console.warn(`SKIP ${what}: ${reason}`);
}

export interface FaultEvent {
  offset: number;
  page: number;
  kind: number;
  write: boolean;
  tid: number;
}

export type Op = { op: 'read' | 'write'; page: number; value?: number };

/** A worker that touches region pages in phases (fixtures/page-toucher.cjs). */
export class Toucher {
  readonly worker: Worker;
  readonly control = new Int32Array(new SharedArrayBuffer(8));
  readonly results: Float64Array;
  readonly exited: Promise<number>;

  constructor(region: UffdRegion, phases: Op[][]) {
    this.results = new Float64Array(new SharedArrayBuffer(8 * MAX_OPS * phases.length));
    this.worker = new Worker(path.join(__dirname, '..', 'fixtures', 'page-toucher.cjs'), {
      workerData: { handle: region.handle, phases, control: this.control.buffer, results: this.results.buffer },
    });
    this.exited = new Promise((resolve, reject) => {
      this.worker.once('error', reject);
      this.worker.once('exit', resolve);
    });
  }

  /** Let the worker run phase `phase` (0-based). */
  release(phase: number): void {
    Atomics.store(this.control, 0, phase + 1);
    Atomics.notify(this.control, 0);
  }

  completed(): number {
    return Atomics.load(this.control, 1);
  }

  result(phase: number, i: number): number {
    return this.results[phase * MAX_OPS + i];
  }
}

/**
 * Serves faults synchronously on this thread until `until()` holds, handing
 * each event to `resolve`. Returns the events seen. The faulting threads are
 * workers; this thread never waits on their event loops.
 */
export function serveFaults(
  region: UffdRegion,
  until: () => boolean,
  resolve: (event: FaultEvent) => void,
  deadlineMs = 30_000,
): FaultEvent[] {
  const buffer = eventBuffer(16);
  const seen: FaultEvent[] = [];
  const deadline = Date.now() + deadlineMs;
  while (!until()) {
    if (Date.now() > deadline) throw new Error(`serveFaults: no progress in ${deadlineMs} ms; events so far ${JSON.stringify(seen)}`);
    const n = region.readEvents(buffer, 20);
    for (let i = 0; i < n; i++) {
      const at = i * EVENT_STRIDE;
      const event: FaultEvent = {
        offset: buffer[at + EVENT_OFFSET],
        page: buffer[at + EVENT_OFFSET] / PAGE,
        kind: buffer[at + EVENT_KIND],
        write: buffer[at + EVENT_WRITE] === 1,
        tid: buffer[at + EVENT_TID],
      };
      seen.push(event);
      resolve(event);
    }
  }
  return seen;
}

/** A page whose every 32-bit word is `value`. */
export function pageOf(value: number, pages = 1): Uint32Array {
  return new Uint32Array((PAGE / 4) * pages).fill(value);
}

/** Content marker used for page i. */
export function marker(page: number): number {
  return 0x5a000000 + page;
}
