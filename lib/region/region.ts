/**
 * createRegion: a region of memory larger than its local budget, whose pages
 * any thread touches directly; missing pages are fetched from a memory node
 * in elastic blocks by pager lanes, cold pages evicted by a reclaimer.
 *
 *   const region = await createRegion({ size: '1G', localBytes: '256M' });
 *   const bytes = new Uint8Array(region.view());      // this thread
 *   worker.postMessage(region.handle);                  // another thread:
 *   //   new Uint8Array(attachRegion(handle).view())
 *   await region.close();
 *
 * Threads:
 *   - lanes (worker threads) loop on blocking reads of fault events;
 *   - the reclaimer (a worker thread) keeps free budget ahead of demand;
 *   - the session host (a worker thread, session-host.ts) holds the memory
 *     node session (leases, heartbeats) and the embedded memory node, on an
 *     event loop that no thread touching region memory can block.
 * Nothing the pager needs waits on this thread's event loop, so this thread
 * may itself touch region memory, for as long as it likes.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DmemError, ErrorCodes, OptionError } from '../errors';
import { allocatePagerShared, CTL_FAILED, CTL_KICK_SEQ, CTL_SETTLE, CTL_STOP, PAGE_SIZE, type PagerShared } from '../paging/layout';
import { readFailure } from '../paging/failure';
import { uffdAccess } from '../uffd/open';
import { continueWriteProtectSupported, UffdRegion, type UffdRegionHandle } from '../uffd/uffd-region';
import type { PagerCommand, PagerConfig, WorkerReport } from '../lanes/lane-init';
import { endPagerWorker, followWorker, spawnPagerWorker } from './pager-pool';
import { EVICT_BATCH } from '../lanes/evictor';
import { resolveOptions, type RegionOptions, type ResolvedOptions } from './options';
import type { SessionHostInit, SessionHostReport } from './session-host';
import { readStats, type RegionStats } from './stats';

export interface RegionHandle {
  readonly uffd: UffdRegionHandle;
  readonly size: number;
}

const EMBEDDED_SLAB = 64 * 2 ** 20;
/** A lane fetches at most one 256 KiB block, in at most 64 runs. */
const LANE_MAX_INFLIGHT = 64;
/** How long a closing region waits for a pager worker to finish its loop before terminating it. */
const WORKER_CLOSE_MS = 5000;
const SESSION_HOST_SCRIPT = path.join(__dirname, 'session-host.js');
/** Slab sizes must hold whole 256 KiB blocks. */
const SLAB_ALIGN = 256 * 1024;

export class Region {
  readonly #uffd: UffdRegion;
  readonly #shared: PagerShared;
  readonly #host: Worker;
  readonly #workers: Worker[];
  readonly #options: ResolvedOptions;
  /** A worker's failure as its message told it (a worker that died without recording one). */
  #failure: Error | undefined;
  /** The failure recorded in shared memory (lib/paging/failure.ts), once read. */
  #recorded: Error | undefined;
  #closing: Promise<void> | undefined;
  #laneNice: number | undefined;
  /** Per pager worker: resolves true when its loop returned cleanly after close, false on a failure or an exit. */
  readonly #finished = new Map<Worker, Promise<boolean>>();

  private constructor(
    uffd: UffdRegion,
    shared: PagerShared,
    host: Worker,
    workers: Worker[],
    options: ResolvedOptions,
  ) {
    this.#uffd = uffd;
    this.#shared = shared;
    this.#host = host;
    this.#workers = workers;
    this.#options = options;
  }

  /** @internal see createRegion */
  static async create(options: RegionOptions): Promise<Region> {
    const o = resolveOptions(options);
    const undo: Array<() => unknown> = [];
    try {
      const host = new Worker(SESSION_HOST_SCRIPT, {
        workerData: {
          remote: o.remote,
          embedded: { transport: o.transport === 'file' ? 'tcp' : o.transport, slabSize: EMBEDDED_SLAB },
          rdma: o.rdma,
          timeoutMs: o.timeoutMs,
          size: o.size,
          slabAlign: SLAB_ALIGN,
          lanes: o.lanes,
          laneMaxInflight: LANE_MAX_INFLIGHT,
          reclaimerMaxInflight: EVICT_BATCH,
        } satisfies SessionHostInit,
      });
      undo.push(() => closeHost(host));
      const hosted = await hostReady(host);
      const { slabSize, addresses, keys } = hosted;
      // Write tracking needs WP faults and CONTINUE_MODE_WP (see
      // UffdRegion.continueWriteProtect); without them every evicted page is
      // written back ("always dirty"), and WP is not registered at all.
      const trackWrites = o.dirtyTracking === 'wp' && continueWriteProtectSupported(uffdAccess().features);
      const uffd = UffdRegion.create({ size: o.size, writeProtect: trackWrites ? 'sync' : 'off', name: 'dmem-region' });
      undo.push(() => uffd.close());
      const pages = o.size / PAGE_SIZE;
      const budget = o.localBytes / PAGE_SIZE;
      const initialShift = o.policy.kind === 'fixed' ? o.policy.shift : 2;
      const shared = allocatePagerShared(pages, o.lanes, budget, initialShift);
      const lowFree = Math.min(Math.max(64, Math.floor(budget / 16)), Math.floor(budget / 4));
      const config: PagerConfig = {
        region: uffd.handle,
        shared,
        session: hosted.reclaimer,
        slabs: { slabSize, addresses, keys },
        policy: o.policy,
        trackWrites,
        replacement: o.replacement,
        probeEvery: o.probeEvery,
        lowFreePages: lowFree,
        highFreePages: Math.min(2 * lowFree, Math.floor(budget / 2)),
      };
      const workers: Worker[] = [];
      undo.push(() => Promise.all(workers.map((w) => w.terminate())));
      const ready: Promise<void>[] = [];
      const priorities: Array<Extract<WorkerReport, { type: 'ready' }>> = [];
      const start = (command: Extract<PagerCommand, { type: 'run' }>): void => {
        const worker = o.pool === undefined ? spawnPagerWorker() : o.pool.take();
        workers.push(worker);
        ready.push(
          new Promise((resolve, reject) => {
            const stop = followWorker(worker, {
              message: (m) => {
                stop();
                if (m.type === 'ready') {
                  if (command.role === 'lane') priorities.push(m);
                  resolve();
                } else {
                  reject(new DmemError(m.type === 'failed' ? m.message : `a pager worker answered ${m.type} while starting`, (m.type === 'failed' && m.code) || 'ERR_DMEM_LANE'));
                }
              },
              error: (error) => {
                stop();
                reject(error);
              },
              exit: (code) => {
                stop();
                reject(new DmemError(`a pager worker exited with ${code} while starting`, 'ERR_DMEM_LANE'));
              },
            });
          }),
        );
        worker.postMessage(command);
      };
      // Each lane gets its own prepared connection (for verbs, its own queue pair).
      for (let lane = 0; lane < o.lanes; lane++) start({ type: 'run', role: 'lane', init: { ...config, session: hosted.lanes[lane], lane, nice: o.laneNice } });
      start({ type: 'run', role: 'reclaimer', init: config });
      await Promise.all(ready);
      const refused = priorities.find((p) => p.niceError !== undefined);
      if (refused !== undefined && o.laneNiceRequired) {
        throw new OptionError(
          'laneNice',
          `the lanes cannot run at nice ${o.laneNice} (${refused.niceError}): raising a thread's priority needs root or CAP_SYS_NICE; grant one, or pass laneNice: null to leave the lanes at the process's priority`,
        );
      }
      const region = new Region(uffd, shared, host, workers, o);
      region.#laneNice = refused === undefined ? priorities[0]?.nice : undefined;
      for (const worker of workers) region.#watch(worker);
      return region;
    } catch (error) {
      for (const u of undo.reverse()) await Promise.resolve(u()).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Follows a serving worker: its failures become the region's, and whether
   * it finished its loop cleanly ('done' after the region closed) or not (a
   * failure, an exit) decides at close whether it may serve again.
   */
  #watch(worker: Worker): void {
    let finished!: (clean: boolean) => void;
    const done = new Promise<boolean>((resolve) => (finished = resolve));
    const stop = followWorker(worker, {
      message: (m) => {
        if (m.type === 'failed') this.#fail(new DmemError(m.message, m.code ?? 'ERR_DMEM_LANE'));
        else if (m.type === 'done') finished(m.clean);
      },
      error: (error) => {
        this.#fail(error);
        finished(false);
      },
      exit: () => finished(false),
    });
    this.#finished.set(
      worker,
      done.then((clean) => {
        stop();
        return clean;
      }),
    );
  }

  async #release(worker: Worker): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), WORKER_CLOSE_MS)));
    const clean = await Promise.race([this.#finished.get(worker) ?? Promise.resolve(false), timedOut]);
    clearTimeout(timer);
    // A failed region (told by a message or recorded in shared memory) keeps none of its workers.
    if (!clean || this.failure !== undefined) await worker.terminate();
    else if (this.#options.pool !== undefined) this.#options.pool.give(worker);
    else await endPagerWorker(worker);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
  }

  /** The nice value the lanes serve at; undefined where they were left at the process's (laneNice: null, or not allowed). */
  get laneNice(): number | undefined {
    return this.#laneNice;
  }

  /** An ArrayBuffer over the whole region, in the calling thread. */
  view(): ArrayBuffer {
    return this.#uffd.view();
  }

  /** Structured-cloneable: post it to a worker and call attachRegion(handle) there. */
  get handle(): RegionHandle {
    return { uffd: this.#uffd.handle, size: this.#uffd.size };
  }

  /** The base address, for native code and VMMs. */
  get address(): number {
    return this.#uffd.address;
  }

  get size(): number {
    return this.#options.size;
  }

  get localBytes(): number {
    return this.#options.localBytes;
  }

  get block(): string {
    return this.#options.block;
  }

  /**
   * The first fatal error of a lane or the reclaimer (e.g. the memory node
   * died), if any: read from shared memory, so it is known at once, without
   * waiting for a worker's message on this thread's event loop.
   */
  get failure(): Error | undefined {
    if (this.#recorded !== undefined) return this.#recorded;
    const errno = Atomics.load(new Int32Array(this.#shared.control), CTL_FAILED);
    if (errno === 0) return this.#failure;
    const what = readFailure(this.#shared.failure);
    if (what === undefined) {
      // The message follows the errno by a few instructions: say what is known now.
      return this.#failure ?? new DmemError(`the memory node failed a data operation (errno ${errno}); region data may be lost`, ErrorCodes.nodeLost);
    }
    this.#recorded = new DmemError(`${what} (errno ${errno}); region data may be lost`, ErrorCodes.nodeLost);
    return this.#recorded;
  }

  /** Bytes the region's memfd holds in memory now (fstat), for checking the budget. */
  allocatedBytes(): number {
    return this.#uffd.allocatedBytes();
  }

  stats(): RegionStats {
    return readStats(this.#shared, this.#options.lanes);
  }

  /**
   * Resolves once the reclaimer has brought the free budget up to its high
   * watermark, the state it keeps the pager in, so that a measurement starts
   * from the same headroom whatever ran before it (dmem bench starts each
   * measured phase so: the eviction debt an initialising pass leaves behind
   * is the pass's, not the phase's). Resolves after `timeoutMs` regardless
   * (every local page busy), and at once on a closed or failed region.
   */
  async settle(timeoutMs = 2000): Promise<void> {
    const control = new Int32Array(this.#shared.control);
    Atomics.store(control, CTL_SETTLE, 1);
    Atomics.add(control, CTL_KICK_SEQ, 1);
    Atomics.notify(control, CTL_KICK_SEQ, 1);
    const deadline = performance.now() + timeoutMs;
    // Polled: the reclaimer clears the request word when there (or gives up).
    while (Atomics.load(control, CTL_SETTLE) !== 0 && Atomics.load(control, CTL_STOP) === 0 && this.failure === undefined && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /**
   * Stops the lanes and the reclaimer, frees the region's memory, releases
   * its leases and stops the embedded memory node. Safe to call twice.
   * Threads still touching the region afterwards read zeros.
   */
  close(): Promise<void> {
    this.#closing ??= this.#closeOnce();
    return this.#closing;
  }

  async #closeOnce(): Promise<void> {
    const control = new Int32Array(this.#shared.control);
    Atomics.store(control, CTL_STOP, 1);
    Atomics.notify(control, 0);
    for (let i = 0; i < control.length; i += 16) Atomics.notify(control, i);
    this.#uffd.close(); // lanes' readEvents return, faulting threads are released
    // Then the workers: each answers 'done' once its loop has returned and
    // closed what it held; a clean one goes back to the pool (or is asked to
    // end), any other is terminated.
    await Promise.all(this.#workers.map((w) => this.#release(w)));
    await closeHost(this.#host);
  }
}

/** Waits for the session host's leases and lanes; its failure, as an error of the same code. */
function hostReady(host: Worker): Promise<Extract<SessionHostReport, { type: 'ready' }>> {
  return new Promise((resolve, reject) => {
    host.once('message', (m: SessionHostReport) => {
      host.removeAllListeners('exit');
      if (m.type === 'ready') resolve(m);
      else if (m.type === 'error') reject(Object.assign(new DmemError(m.message, m.code ?? ErrorCodes.nodeLost), m.errno === undefined ? {} : { errno: m.errno }));
      else reject(new DmemError(`the session host answered ${m.type} while starting`, ErrorCodes.nodeLost));
    });
    host.once('error', reject);
    host.once('exit', (code) => reject(new DmemError(`the session host exited with ${code} while starting`, ErrorCodes.nodeLost)));
  });
}

/** Says bye and stops the embedded node (bounded), then ends the session host. */
async function closeHost(host: Worker): Promise<void> {
  if (host.threadId === -1) return; // it has exited already (it failed to start)
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    host.on('message', (m: SessionHostReport) => {
      if (m.type !== 'closed') return;
      clearTimeout(timer);
      resolve();
    });
    host.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    host.postMessage({ type: 'close' });
  });
  await host.terminate();
}

export function createRegion(options: RegionOptions): Promise<Region> {
  return Region.create(options);
}

/** In any thread: the view side of a region created elsewhere in this process. */
export function attachRegion(handle: RegionHandle): { view(): ArrayBuffer; close(): void; readonly size: number } {
  const uffd = UffdRegion.attach(handle.uffd);
  return {
    size: handle.size,
    view: () => uffd.view(),
    close: () => uffd.close(),
  };
}
