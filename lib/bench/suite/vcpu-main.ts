/**
 * Worker entry of one bench vCPU: runs its thread of a workload synchronously
 * on the given memory. The thread may block in a page fault for as long as a
 * pager lane (another thread) takes to serve it; nothing waits on this
 * thread's event loop meanwhile.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadWorkloads } from './native';

export interface VcpuJob {
  name: string;
  address: number;
  bytes: number;
  thread: number;
  threads: number;
  seed: number;
  params: Record<string, number>;
  sync: Int32Array;
}

const job = workerData as VcpuJob;
const result = loadWorkloads().runWorkload(job.name, job.address, job.bytes, job.thread, job.threads, job.seed, job.params, job.sync);
parentPort?.postMessage(result);
