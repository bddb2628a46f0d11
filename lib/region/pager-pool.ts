/**
 * PagerPool: pager worker threads (lanes and reclaimers) kept between
 * regions, for a process that creates regions one after another (a
 * benchmark, a test suite, a VMM restarting guests).
 *
 * A new worker thread is a new V8 isolate: its lanes run interpreted code
 * until enough faults have gone through them for the optimising compiler,
 * which then competes with them for the cores. A region whose first pass
 * takes few faults (elastic blocks over an initialising scan) starts its
 * next phase on cold lanes; quick gups, measured on fresh workers, ran ~10%
 * slower after an initialising scan in 256 KiB blocks than after one in
 * 4 KiB blocks, for the same faults, and no slower with V8's optimising
 * tiers turned off. A pooled worker keeps its compiled code: each region
 * after the first starts warm.
 *
 *   const pool = createPagerPool();
 *   for (const block of ['4k', 'elastic']) {
 *     const region = await createRegion({ size: '1G', block, pool });
 *     ...
 *     await region.close();                  // its workers go back to the pool
 *   }
 *   await pool.close();
 *
 * Idle workers do not keep the process alive. A worker whose region failed,
 * that did not finish in time, or that cannot give back its priority (a
 * lane lowered by laneNice, without the privilege to raise it again) is
 * ended rather than kept. Closing the pool
 * ends its idle workers at once and the busy ones as their regions close.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PagerCommand, WorkerReport } from '../lanes/lane-init';

const PAGER_WORKER_SCRIPT = path.join(__dirname, '..', 'lanes', 'pager-worker.js');

/** A new pager worker thread, waiting for a region's run command. */
export function spawnPagerWorker(): Worker {
  return new Worker(PAGER_WORKER_SCRIPT);
}

/**
 * Listens to a pager worker's messages, errors and exit; returns what takes
 * exactly these listeners off again. (removeAllListeners would also take
 * Worker's own, and its later messages would not arrive until it exits.)
 */
export function followWorker(
  worker: Worker,
  on: { message?: (m: WorkerReport) => void; error?: (error: Error) => void; exit?: (code: number) => void },
): () => void {
  if (on.message !== undefined) worker.on('message', on.message);
  if (on.error !== undefined) worker.on('error', on.error);
  if (on.exit !== undefined) worker.on('exit', on.exit);
  return () => {
    if (on.message !== undefined) worker.off('message', on.message);
    if (on.error !== undefined) worker.off('error', on.error);
    if (on.exit !== undefined) worker.off('exit', on.exit);
  };
}

/** Asks an idle pager worker to end; terminates it if it has not within `graceMs`. */
export async function endPagerWorker(worker: Worker, graceMs = 5000): Promise<void> {
  if (worker.threadId === -1) return; // it has exited already
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => void worker.terminate().then(() => resolve()), graceMs);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.postMessage({ type: 'exit' } satisfies PagerCommand);
  });
}

export class PagerPool {
  readonly #idle: Worker[] = [];
  /** Per idle worker: takes off the listeners that drop it from the pool should it die (it should not). */
  readonly #unfollow = new Map<Worker, () => void>();
  #created = 0;
  #closed = false;

  /** Whether close() has been called: regions can no longer be given this pool. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Workers waiting for a region, and workers this pool has started in all. */
  stats(): { idle: number; created: number } {
    return { idle: this.#idle.length, created: this.#created };
  }

  /** @internal A worker for a region: an idle one, or a new one. */
  take(): Worker {
    const worker = this.#idle.pop();
    if (worker === undefined) {
      this.#created++;
      return spawnPagerWorker();
    }
    this.#forget(worker);
    worker.ref();
    return worker;
  }

  /**
   * @internal A worker back from a region that closed cleanly (it answered
   * 'done'); ended instead when the pool is closed.
   */
  give(worker: Worker): void {
    if (this.#closed) {
      void endPagerWorker(worker);
      return;
    }
    const leave = (): void => {
      this.#forget(worker);
      const at = this.#idle.indexOf(worker);
      if (at >= 0) this.#idle.splice(at, 1);
    };
    this.#unfollow.set(worker, followWorker(worker, { exit: leave, error: leave }));
    worker.unref();
    this.#idle.push(worker);
  }

  #forget(worker: Worker): void {
    this.#unfollow.get(worker)?.();
    this.#unfollow.delete(worker);
  }

  /** Ends the idle workers (busy ones end when their regions close). Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle.splice(0);
    await Promise.all(
      idle.map((worker) => {
        this.#forget(worker);
        return endPagerWorker(worker);
      }),
    );
  }
}

/** A pool of pager worker threads to pass to createRegion({ pool }). */
export function createPagerPool(): PagerPool {
  return new PagerPool();
}
