/**
 * The workload entry points of dmem_core (native/addon/workload_wrap.cc),
 * typed here so that lib/native/binding.ts stays the pager's interface.
 */
import { loadCore } from '../../native/binding';

export interface WorkloadRunResult {
  checksum: number;
  ok: boolean;
  message: string;
  cancelled: boolean;
  opsDone: number;
  bytesTouched: number;
  distinctPages: number;
  initNs: number;
  measuredNs: number;
  verifyNs: number;
}

export interface WorkloadBinding {
  /** Synchronous: runs thread `threadIndex` of a run on memory at `baseAddress`. */
  runWorkload(
    name: string,
    baseAddress: number,
    bytes: number,
    threadIndex: number,
    threads: number,
    seed: number,
    params: Record<string, number>,
    sync: Int32Array,
  ): WorkloadRunResult;
  workloadNames(): string[];
  /** Anonymous private memory for the local-only baseline. */
  allocatePlain(bytes: number): { buffer: ArrayBuffer; address: number };
  /** Unmaps it now (the GC would do it later). */
  freePlain(buffer: ArrayBuffer): void;
}

export function loadWorkloads(): WorkloadBinding {
  return loadCore() as unknown as WorkloadBinding;
}

/**
 * The words the threads of one run share (native/core/workloads/workload.h):
 * int32[0] barrier arrivals, int32[1] barrier generation (written by the
 * vCPU threads only), int32[2] stop (written by the coordinator, read by
 * every vCPU at its checkpoints), int32[3] stage (vCPU 0 writes), int32[4]
 * the stage last sampled and int32[5] sampling (the coordinator writes);
 * float64[8 + t] per-thread partials.
 */
export const SYNC_BYTES = 64 + 64 * 8;
export const SYNC_STOP = 2;
export const SYNC_GENERATION = 1;
export const SYNC_STAGE = 3;
/** The last stage the coordinator sampled; the vCPUs wait for it at the measured phase's ends when SYNC_SAMPLING is set. */
export const SYNC_SAMPLED = 4;
export const SYNC_SAMPLING = 5;
