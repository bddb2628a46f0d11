/**
 * Worker entry of the bench's touching threads ("vCPUs"): attaches a
 * region's view and touches one 32-bit word per page, in a given order,
 * timing itself. With several threads, each takes one slice of the order
 * (as UMap's pfbenchmark -t N does); thread 0 first fills every page
 * (untimed), then all start together.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UffdRegion, type UffdRegionHandle } from '../uffd/uffd-region';

export interface ToucherJob {
  region: UffdRegionHandle;
  /** Pages in the order to touch them (the first pass), over all threads. */
  order: Int32Array;
  /** Untimed: write every page sequentially first (populates the memory node). */
  fill: boolean;
  write: boolean;
  /** This thread's slice of `order`: thread of threads. */
  thread: number;
  threads: number;
  /** Int32Array(1) over it: 0 until thread 0 has filled, then 1 (the start signal). */
  start: SharedArrayBuffer;
}

const job = workerData as ToucherJob;
const region = UffdRegion.attach(job.region);
const words = new Uint32Array(region.view());
const start = new Int32Array(job.start);
if (job.thread === 0) {
  if (job.fill) {
    for (let p = 0; p < words.length / 1024; p++) words[p * 1024 + 1] = p;
  }
  // Release: the fill's writes happen before any thread's timed pass.
  Atomics.store(start, 0, 1);
  Atomics.notify(start, 0);
} else {
  Atomics.wait(start, 0, 0);
}
const from = Math.floor((job.order.length * job.thread) / job.threads);
const to = Math.floor((job.order.length * (job.thread + 1)) / job.threads);
const started = performance.now();
let sum = 0;
if (job.write) {
  for (let i = from; i < to; i++) words[job.order[i] * 1024 + 1] += 1;
} else {
  for (let i = from; i < to; i++) sum += words[job.order[i] * 1024 + 1];
}
const ms = performance.now() - started;
// Verify this thread's pages: each holds what the fill (and the write pass) put there.
let bad = 0;
if (job.fill) {
  for (let i = from; i < to; i++) {
    const p = job.order[i];
    if (words[p * 1024 + 1] !== p + (job.write ? 1 : 0)) bad++;
  }
}
region.close();
parentPort?.postMessage({ ms, sum, bad });
