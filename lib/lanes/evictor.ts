/**
 * The reclaimer's mechanism: choosing victims with CLOCK (or FIFO) and
 * evicting them in batches, in an order that loses no concurrent write:
 *
 *   1. claim      RESIDENT/PREFETCHED → EVICTING (compare-exchange); from now
 *                 on a fault on the page waits for the eviction to finish
 *   2. zap        MADV_DONTNEED over the span the hand passed: no thread can
 *                 write the page any more without faulting
 *   3. write back read the dirty pages from the page cache, RDMA/TCP WRITE
 *                 them to the memory node, wait for the completions
 *   4. punch      PUNCH_HOLE frees the memory; state → REMOTE (or ZERO when
 *                 the memory node never had the page and it is clean)
 *
 * Dirty means FLAG_DIRTY (set by write and WP faults) — or every mapped page
 * when writes are not tracked. Copy-then-punch lost writes in a race test;
 * zap-first loses none (shared/DESIGN.md).
 *
 * Reference bits are emulated: a referenced RESIDENT page met by the CLOCK
 * hand loses FLAG_REF and is zapped, so that its next touch raises a MINOR
 * fault that sets FLAG_REF again. A page with FLAG_NEW (a page of a
 * multi-page block, installed since the hand last passed) loses it and
 * is spared without a zap: its touches are still to come, and the hand,
 * sweeping addresses, not ages, would otherwise evict the block a stream has
 * just fetched. PREFETCHED pages never touched go first.
 *
 * One zap covers the whole span the hand passed (up to ZAP_SPAN pages), not
 * each run of it: every resident page in the span was either zapped for its
 * reference bit or claimed as a victim, and the pages between them hold no
 * mapping, so one MADV_DONTNEED (one TLB shootdown) does the work of one per
 * page where the pages lie scattered (measured: 4,700 calls per pass of
 * bench/pager shuffled-read 4k). The span is cut only around the pages that
 * changed behind the hand or were spared: FETCHING (a lane is installing
 * it) and every RESIDENT page the hand did not give a second chance
 * (installed or mapped after the hand passed, or spared for FLAG_NEW), whose
 * zap would cost its next touch a MINOR fault for nothing.
 */
import { DataConnection } from '../transport/data-connection';
import { StagingBuffer } from '../transport/staging-buffer';
import { COMPLETION_STATUS, COMPLETION_STRIDE, OpKind, completionBuffer, opBuffer, setOp } from '../transport/layout';
import { completionError } from '../transport/completion-error';
import { UffdRegion } from '../uffd/uffd-region';
import { isolatedMissPages, recordProbe, type BlockPolicy } from '../paging/elastic-block';
import { recordFailure } from '../paging/failure';
import { stampEvicted } from '../paging/refault';
import {
  CTL_BUDGET_PAGES,
  CTL_FREED_SEQ,
  CTL_LOCAL_PAGES,
  CTL_STOP,
  FLAG_DIRTY,
  FLAG_DENSE_PROBE,
  FLAG_PROBE,
  FLAG_NEW,
  FLAG_REF,
  FLAG_REMOTE_VALID,
  MAX_BLOCK_SHIFT,
  PAGE_SIZE,
  RECLAIM_BATCHES,
  RECLAIM_BYTES_WRITTEN,
  RECLAIM_EVICTED_CLEAN,
  RECLAIM_EVICTED_DIRTY,
  RECLAIM_PREFETCH_WASTE,
  RECLAIM_SWEEPS,
  RECLAIM_ZAP_CALLS,
  RECLAIM_ZAPPED_PAGES,
} from '../paging/layout';
import { PageState, notifySettled } from '../paging/page-state';
import { RemoteMap } from '../paging/remote-map';
import type { PagerConfig } from './lane-init';

export const EVICT_BATCH = 256;
/**
 * A referenced page gets its second chance only where a refetch brings
 * fewer pages than this: a second chance costs a MINOR fault per page per
 * turn of the hand, a refetch one fault per block (pagerank's rank vector
 * at 64 KiB blocks: 7,600 MINOR faults in a quick run, most of its time).
 */
export const SECOND_CHANCE_BELOW_PAGES = 4;
/** The most pages one zap covers (bounds the page-table walk of one call). */
export const ZAP_SPAN = 4096;
const MAX_RUN = 1 << MAX_BLOCK_SHIFT;

export class Evictor {
  readonly #region: UffdRegion;
  readonly #states: Uint8Array;
  readonly #flags: Uint8Array;
  readonly #chunks: Int32Array;
  readonly #evictedAt: Int32Array;
  readonly #control: Int32Array;
  readonly #failure: SharedArrayBuffer;
  readonly #stats: Float64Array;
  readonly #pages: number;
  readonly #clock: boolean;
  readonly #policy: BlockPolicy;
  readonly #alwaysDirty: boolean;
  readonly #remote: RemoteMap;
  readonly #staging: StagingBuffer;
  readonly #stagingView: ArrayBuffer;
  readonly #connection: DataConnection;
  readonly #victims = new Int32Array(EVICT_BATCH);
  /** Pages of the current span whose FLAG_REF the hand cleared, to be zapped (by offset from #spanStart). */
  readonly #secondChances = new Uint8Array(ZAP_SPAN);
  readonly #ops = opBuffer(EVICT_BATCH);
  readonly #completions = completionBuffer(EVICT_BATCH);
  #hand = 0;
  /** Where the span the hand passed since the last zap starts, and how many of its pages need the zap. */
  #spanStart = 0;
  #spanPages = 0;

  constructor(config: PagerConfig) {
    this.#region = UffdRegion.attach(config.region);
    this.#states = new Uint8Array(config.shared.states);
    this.#flags = new Uint8Array(config.shared.flags);
    this.#chunks = new Int32Array(config.shared.chunks);
    this.#evictedAt = new Int32Array(config.shared.evictedAt);
    this.#control = new Int32Array(config.shared.control);
    this.#failure = config.shared.failure;
    this.#stats = new Float64Array(config.shared.reclaimStats);
    this.#pages = config.shared.pages;
    this.#clock = config.replacement === 'clock';
    this.#policy = config.policy;
    this.#alwaysDirty = !config.trackWrites;
    this.#remote = new RemoteMap(config.slabs);
    this.#staging = new StagingBuffer(EVICT_BATCH * PAGE_SIZE);
    this.#stagingView = this.#staging.view();
    this.#connection = DataConnection.open(config.session, this.#staging, EVICT_BATCH);
  }

  close(): void {
    this.#connection.close();
    this.#region.close();
  }

  freePages(): number {
    return Atomics.load(this.#control, CTL_BUDGET_PAGES) - Atomics.load(this.#control, CTL_LOCAL_PAGES);
  }

  /** Evicts one batch; returns the pages freed (0 when nothing could be chosen). */
  evictBatch(): number {
    const count = this.#select();
    if (count === 0) return 0;
    this.#sortVictims(count);
    const written = this.#writeBack(count);
    this.#finish(count, written);
    return count;
  }

  /**
   * Moves the hand until EVICT_BATCH victims are claimed or two full turns
   * pass, then zaps what it passed: the victims and the referenced pages.
   */
  #select(): number {
    let count = 0;
    const limit = 2 * this.#pages;
    this.#spanStart = this.#hand;
    this.#spanPages = 0;
    for (let steps = 0; steps < limit && count < EVICT_BATCH; steps++) {
      const page = this.#hand;
      const state = Atomics.load(this.#states, page);
      if (state === PageState.resident || state === PageState.prefetched) {
        const flags = this.#clock && state === PageState.resident ? Atomics.and(this.#flags, page, ~(FLAG_REF | FLAG_NEW)) : 0;
        if (flags & FLAG_REF && isolatedMissPages(this.#chunks, page, this.#policy) < SECOND_CHANCE_BELOW_PAGES) {
          this.#secondChances[page - this.#spanStart] = 1; // zapped with the span
          this.#spanPages++;
          this.#stats[RECLAIM_ZAPPED_PAGES]++;
        } else if (flags & FLAG_NEW) {
          // Spared once and left mapped: the zap goes around it.
        } else if (Atomics.compareExchange(this.#states, page, state, PageState.evicting) === state) {
          this.#victims[count++] = page;
          this.#spanPages++;
        }
      }
      this.#hand = page + 1;
      if (this.#hand === this.#pages || this.#hand - this.#spanStart === ZAP_SPAN) {
        this.#zapSpan(this.#hand);
        if (this.#hand === this.#pages) {
          this.#hand = 0;
          this.#stats[RECLAIM_SWEEPS]++;
        }
        this.#spanStart = this.#hand;
      }
    }
    this.#zapSpan(this.#hand);
    return count;
  }

  /**
   * Zaps [spanStart, end) when it holds pages to zap, in runs cut around the
   * pages that changed behind the hand (see the header). Every victim is in
   * a run: it is EVICTING, owned by this evictor.
   */
  #zapSpan(end: number): void {
    let q = this.#spanPages === 0 ? end : this.#spanStart;
    while (q < end) {
      while (q < end && this.#changedBehind(q)) q++;
      let r = q;
      while (r < end && !this.#changedBehind(r)) r++;
      if (r > q) {
        this.#region.dontneed(q * PAGE_SIZE, (r - q) * PAGE_SIZE);
        this.#stats[RECLAIM_ZAP_CALLS]++;
      }
      q = r;
    }
    this.#spanPages = 0;
    this.#secondChances.fill(0, 0, end - this.#spanStart);
  }

  /** A page the zap must go around: being installed, or mapped and not given a second chance by this span. */
  #changedBehind(page: number): boolean {
    const state = Atomics.load(this.#states, page);
    return state === PageState.fetching || (state === PageState.resident && this.#secondChances[page - this.#spanStart] === 0);
  }

  #sortVictims(count: number): void {
    this.#victims.subarray(0, count).sort();
  }

  #isDirty(page: number, flags: number): boolean {
    if (flags & FLAG_DIRTY) return true;
    if (!this.#alwaysDirty) return false;
    // Untracked writes: a mapped page may have been written; a prefetched
    // (never mapped) page cannot have been.
    return (flags & FLAG_PROBE) === 0;
  }

  /** Writes the dirty victims back in runs; returns how many pages it wrote. */
  #writeBack(count: number): number {
    let ops = 0;
    let written = 0;
    let i = 0;
    while (i < count) {
      const page = this.#victims[i];
      if (!this.#isDirty(page, Atomics.load(this.#flags, page))) {
        i++;
        continue;
      }
      let j = i + 1;
      while (
        j < count &&
        j - i < MAX_RUN &&
        this.#victims[j] === this.#victims[j - 1] + 1 &&
        this.#remote.sameSlab(page, this.#victims[j]) &&
        this.#isDirty(this.#victims[j], Atomics.load(this.#flags, this.#victims[j]))
      ) {
        j++;
      }
      const bytes = (j - i) * PAGE_SIZE;
      this.#region.pread(page * PAGE_SIZE, this.#stagingView, i * PAGE_SIZE, bytes);
      setOp(this.#ops, ops++, OpKind.write, i, i * PAGE_SIZE, this.#remote.address(page), bytes, this.#remote.key(page));
      for (let k = i; k < j; k++) Atomics.or(this.#flags, this.#victims[k], FLAG_REMOTE_VALID);
      written += j - i;
      i = j;
    }
    let posted = 0;
    let done = 0;
    while (done < ops) {
      if (posted < ops) posted += this.#connection.post(this.#ops.subarray(posted * 6), ops - posted);
      const n = this.#connection.poll(this.#completions, 1000);
      for (let k = 0; k < n; k++) {
        const status = this.#completions[k * COMPLETION_STRIDE + COMPLETION_STATUS];
        if (status !== 0) {
          const error = completionError('WRITE', status, 0, PAGE_SIZE, undefined);
          recordFailure(this.#control, this.#failure, status, `writing evicted pages back: ${error.message}`);
          throw error;
        }
      }
      done += n;
      if (n === 0 && Atomics.load(this.#control, CTL_STOP) !== 0) throw new Error('region closed');
    }
    this.#stats[RECLAIM_BYTES_WRITTEN] += written * PAGE_SIZE;
    return written;
  }

  #finish(count: number, written: number): void {
    let i = 0;
    while (i < count) {
      let j = i + 1;
      while (j < count && this.#victims[j] === this.#victims[j - 1] + 1) j++;
      this.#region.punchHole(this.#victims[i] * PAGE_SIZE, (j - i) * PAGE_SIZE);
      i = j;
    }
    stampEvicted(this.#control, this.#evictedAt, this.#victims, count);
    for (let k = 0; k < count; k++) {
      const page = this.#victims[k];
      const flags = Atomics.load(this.#flags, page);
      if (flags & FLAG_PROBE) {
        this.#stats[RECLAIM_PREFETCH_WASTE]++;
        recordProbe(this.#chunks, page, false, (flags & FLAG_DENSE_PROBE) !== 0);
      }
      Atomics.store(this.#flags, page, flags & FLAG_REMOTE_VALID);
      Atomics.store(this.#states, page, flags & FLAG_REMOTE_VALID ? PageState.remote : PageState.zero);
    }
    this.#stats[RECLAIM_EVICTED_DIRTY] += written;
    this.#stats[RECLAIM_EVICTED_CLEAN] += count - written;
    this.#stats[RECLAIM_BATCHES]++;
    // Release: the states above are visible to whoever sees the new counts.
    Atomics.sub(this.#control, CTL_LOCAL_PAGES, count);
    Atomics.add(this.#control, CTL_FREED_SEQ, 1);
    Atomics.notify(this.#control, CTL_FREED_SEQ);
    notifySettled(this.#control);
  }
}
