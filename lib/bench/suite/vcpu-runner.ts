/**
 * Runs a workload in N worker threads ("vCPUs"), each calling the native
 * workload synchronously on the same memory, and combines their results.
 * The coordinator (this thread) only waits for messages: it never touches
 * the memory, so it is free to serve the region's session meanwhile.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { SYNC_BYTES, SYNC_GENERATION, SYNC_SAMPLED, SYNC_SAMPLING, SYNC_STAGE, SYNC_STOP, type WorkloadRunResult } from './native';
import type { VcpuJob } from './vcpu-main';

/** How often the coordinator looks for a stage change (the measured phase waits up to this long at each end, its clock stopped). */
const STAGE_POLL_MS = 2;
/** The stage word's value during the measured phase (1 init, 2 measured, 3 verify, 4 done). */
const MEASURED_STAGE = 2;

const VCPU_SCRIPT = path.join(__dirname, 'vcpu-main.js');

export interface VcpuRun {
  ok: boolean;
  /** The first failing thread's message. */
  message: string;
  cancelled: boolean;
  /** The measured phase (the slowest thread's view; all start and end on one barrier). */
  measuredMs: number;
  initMs: number;
  verifyMs: number;
  opsDone: number;
  bytesTouched: number;
  distinctPages: number;
  checksum: number;
}

/** Cancels every run in progress (Ctrl-C): vCPUs leave at their next checkpoint or barrier. */
export class RunCanceller {
  readonly #live = new Set<Int32Array>();
  readonly #hooks = new Set<() => unknown>();
  #cancelled = false;
  get cancelled(): boolean {
    return this.#cancelled;
  }
  track(sync: Int32Array): void {
    this.#live.add(sync);
    if (this.#cancelled) this.#stop(sync);
  }
  untrack(sync: Int32Array): void {
    this.#live.delete(sync);
  }
  /**
   * Runs `hook` on cancel while registered (returns the unregister function).
   * A vCPU blocked in a page fault never reaches a checkpoint: closing its
   * region is what releases it (the kernel wakes every faulting thread).
   */
  onCancel(hook: () => unknown): () => void {
    this.#hooks.add(hook);
    if (this.#cancelled) void hook();
    return () => this.#hooks.delete(hook);
  }
  cancel(): void {
    this.#cancelled = true;
    for (const sync of this.#live) this.#stop(sync);
    for (const hook of this.#hooks) void hook();
  }
  #stop(sync: Int32Array): void {
    // Stop word: read by each vCPU at its checkpoints (relaxed is enough: it
    // only has to be seen eventually). Waking the generation word releases
    // barrier sleepers at once instead of after their 50 ms tick.
    Atomics.store(sync, SYNC_STOP, 1);
    Atomics.notify(sync, SYNC_GENERATION);
  }
}

export async function runOnVcpus(
  name: string,
  address: number,
  bytes: number,
  threads: number,
  params: Record<string, number>,
  seed: number,
  canceller?: RunCanceller | RunCanceller[],
  /**
   * Called with the run's stage (1 init, 2 measured, 3 verify, 4 done) every
   * `sampleMs`, and at once when it changes: the measured phase waits, its
   * clock stopped, for the calls at its two ends.
   */
  sample?: (stage: number) => void,
  /** Awaited before the measured phase starts (its clock stopped): the region's settle(). */
  settle?: () => Promise<void>,
  sampleMs = 20,
): Promise<VcpuRun> {
  const sync = new Int32Array(new SharedArrayBuffer(SYNC_BYTES));
  const cancellers = canceller === undefined ? [] : Array.isArray(canceller) ? canceller : [canceller];
  for (const c of cancellers) c.track(sync);
  const workers: Worker[] = [];
  let timer: NodeJS.Timeout | undefined;
  if (sample !== undefined) {
    Atomics.store(sync, SYNC_SAMPLING, 1);
    let sampled = 0;
    let ticks = 0;
    let settling = false;
    timer = setInterval(() => {
      if (settling) return;
      // Stage word: written by vCPU 0 at each stage's barrier (release); vCPU
      // 0 then waits for SYNC_SAMPLED (acquire) to reach it.
      const stage = Atomics.load(sync, SYNC_STAGE);
      if (stage === sampled && ++ticks * STAGE_POLL_MS < sampleMs) return;
      ticks = 0;
      const release = (): void => {
        sample(stage);
        sampled = stage;
        Atomics.store(sync, SYNC_SAMPLED, stage);
      };
      if (stage !== MEASURED_STAGE || sampled === MEASURED_STAGE || settle === undefined) return release();
      settling = true;
      void settle()
        .catch(() => undefined) // a failed region is told by the sample's failure check
        .then(() => {
          settling = false;
          release();
        });
    }, STAGE_POLL_MS);
  }
  try {
    const results = await Promise.all(
      Array.from({ length: threads }, (_, thread) => {
        const job: VcpuJob = { name, address, bytes, thread, threads, seed, params, sync };
        const worker = new Worker(VCPU_SCRIPT, { workerData: job });
        workers.push(worker);
        return new Promise<WorkloadRunResult>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', (error) => {
            // A vCPU that died leaves the others at a barrier: release them.
            Atomics.store(sync, SYNC_STOP, 1);
            Atomics.notify(sync, SYNC_GENERATION);
            reject(error);
          });
          worker.once('exit', (code) => reject(new Error(`bench vCPU ${thread} of ${name} exited with ${code} before reporting`)));
        });
      }),
    );
    const failed = results.find((r) => !r.ok);
    return {
      ok: failed === undefined,
      message: failed?.message ?? '',
      cancelled: results.some((r) => r.cancelled),
      measuredMs: Math.max(...results.map((r) => r.measuredNs)) / 1e6,
      initMs: Math.max(...results.map((r) => r.initNs)) / 1e6,
      verifyMs: Math.max(...results.map((r) => r.verifyNs)) / 1e6,
      opsDone: sum(results.map((r) => r.opsDone)),
      bytesTouched: sum(results.map((r) => r.bytesTouched)),
      distinctPages: sum(results.map((r) => r.distinctPages)),
      checksum: results.reduce((x, r) => (x + r.checksum) % 2 ** 53, 0),
    };
  } finally {
    if (timer !== undefined) clearInterval(timer);
    sample?.(Atomics.load(sync, SYNC_STAGE));
    for (const c of cancellers) c.untrack(sync);
    await Promise.all(workers.map((w) => w.terminate().catch(() => undefined)));
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
