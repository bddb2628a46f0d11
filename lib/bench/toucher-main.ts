/**
 * Worker entry of the bench's touching thread ("vCPU"): attaches a region's
 * view and touches one 32-bit word per page, in a given order, timing itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UffdRegion, type UffdRegionHandle } from '../uffd/uffd-region';

export interface ToucherJob {
  region: UffdRegionHandle;
  /** Pages in the order to touch them (the first pass). */
  order: Int32Array;
  /** Untimed: write every page sequentially first (populates the memory node). */
  fill: boolean;
  write: boolean;
}

const job = workerData as ToucherJob;
const region = UffdRegion.attach(job.region);
const words = new Uint32Array(region.view());
if (job.fill) {
  for (let p = 0; p < words.length / 1024; p++) words[p * 1024 + 1] = p;
}
const started = performance.now();
let sum = 0;
if (job.write) {
  for (let i = 0; i < job.order.length; i++) words[job.order[i] * 1024 + 1] += 1;
} else {
  for (let i = 0; i < job.order.length; i++) sum += words[job.order[i] * 1024 + 1];
}
const ms = performance.now() - started;
// Verify: every page holds what the fill (and the write pass) put there.
let bad = 0;
if (job.fill) {
  for (let p = 0; p < words.length / 1024; p++) if (words[p * 1024 + 1] !== p + (job.write ? 1 : 0)) bad++;
}
region.close();
parentPort?.postMessage({ ms, sum, bad });
