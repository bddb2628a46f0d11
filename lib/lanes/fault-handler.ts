/**
 * A pager lane's fault handling, separate from its worker entry so that it
 * reads as the algorithm it is. One FaultHandler per lane (per thread); it
 * owns the lane's staging buffer, data connection and stats row. Nothing in
 * here allocates per fault, waits on an event loop or takes a lock.
 *
 * Decisions come from the page table, never from the fault message alone:
 * a message may be stale (the page was installed meanwhile) or a duplicate
 * (two threads faulted on one page).
 */
import { DataConnection } from '../transport/data-connection';
import { StagingBuffer } from '../transport/staging-buffer';
import { COMPLETION_STATUS, COMPLETION_STRIDE, OpKind, completionBuffer, opBuffer, setOp } from '../transport/layout';
import { completionError } from '../transport/completion-error';
import { UffdRegion } from '../uffd/uffd-region';
import { FaultKind } from '../uffd/event-layout';
import { blockPagesFor, densityProbePlaced, findStream, isDensityProbeDue, isGhostProbe, isStreamProbeDue, isolatedMissPages, recordMiss, recordProbe, streamPagesFor, type BlockPolicy } from '../paging/elastic-block';
import {
  CHUNK_INSTALLS,
  CHUNK_LAST_WP,
  CHUNK_WP_FAULTS,
  CTL_BUDGET_PAGES,
  CTL_FAILED,
  CTL_FREED_SEQ,
  CTL_KICK_SEQ,
  CTL_LOCAL_PAGES,
  CTL_SETTLED_SEQ,
  CTL_STOP,
  FLAG_DIRTY,
  FLAG_DENSE_PROBE,
  FLAG_PROBE,
  FLAG_NEW,
  FLAG_REF,
  FLAG_REMOTE_VALID,
  HISTOGRAM_BUCKETS,
  LANE_BUDGET_WAITS,
  LANE_BYTES_FETCHED,
  LANE_FAULTS,
  LANE_MINOR,
  LANE_MISSING,
  LANE_PAGES_FETCHED,
  LANE_PREFETCH_HITS,
  LANE_PROBE_PAGES,
  LANE_SERVICE_US,
  LANE_STALE,
  LANE_REFAULTS,
  LANE_PROBES_EXPIRED,
  LANE_STATE_WAITS,
  LANE_STRIDE,
  LANE_WP,
  LANE_ZERO_FILLED,
  MAX_BLOCK_SHIFT,
  PAGE_SIZE,
  chunkBase,
} from '../paging/layout';
import { PageState, notifySettled } from '../paging/page-state';
import { recordFailure } from '../paging/failure';
import { RemoteMap } from '../paging/remote-map';
import { isRecentRefault, isTouchedSoon, stampSentinel } from '../paging/refault';
import { SentinelWatch } from './sentinel-watch';
import { GhostProbes } from './ghost-probes';
import type { LaneInit } from './lane-init';

const MAX_BLOCK_PAGES = 1 << MAX_BLOCK_SHIFT;
const NOT_CLAIMED = -1;

export class FaultHandler {
  readonly #region: UffdRegion;
  readonly #states: Uint8Array;
  readonly #flags: Uint8Array;
  readonly #owners: Uint8Array;
  readonly #owner: number;
  readonly #chunks: Int32Array;
  readonly #evictedAt: Int32Array;
  /** This lane's density-probe sentinels awaiting a verdict; decided ones are mapped unreferenced, so that a late touch costs no fault. */
  readonly #sentinels = new SentinelWatch((page) => this.#mapCached(page, false, false));
  /** This lane's density probes in chunks settled at a single page, which fetch nothing. */
  readonly #ghosts: GhostProbes;
  readonly #control: Int32Array;
  readonly #failure: SharedArrayBuffer;
  readonly #stats: Float64Array;
  readonly #histogram: Float64Array;
  readonly #statsBase: number;
  readonly #histogramBase: number;
  readonly #pages: number;
  readonly #policy: BlockPolicy;
  readonly #trackWrites: boolean;
  readonly #probeEvery: number;
  readonly #lowFree: number;
  readonly #remote: RemoteMap;
  readonly #staging: StagingBuffer;
  readonly #stagingView: ArrayBuffer;
  readonly #stagingBytes: Uint8Array;
  readonly #connection: DataConnection;
  readonly #ops = opBuffer(MAX_BLOCK_PAGES);
  readonly #completions = completionBuffer(MAX_BLOCK_PAGES);
  /** Per block offset: the state claimed (ZERO or REMOTE), or NOT_CLAIMED. */
  readonly #claimed = new Int8Array(MAX_BLOCK_PAGES);

  constructor(init: LaneInit) {
    this.#region = UffdRegion.attach(init.region);
    this.#states = new Uint8Array(init.shared.states);
    this.#flags = new Uint8Array(init.shared.flags);
    this.#owners = new Uint8Array(init.shared.owners);
    this.#owner = init.lane + 1;
    this.#chunks = new Int32Array(init.shared.chunks);
    this.#evictedAt = new Int32Array(init.shared.evictedAt);
    this.#control = new Int32Array(init.shared.control);
    this.#failure = init.shared.failure;
    this.#stats = new Float64Array(init.shared.laneStats);
    this.#histogram = new Float64Array(init.shared.histogram);
    this.#statsBase = init.lane * LANE_STRIDE;
    this.#ghosts = new GhostProbes(init.shared, init.lane);
    this.#histogramBase = init.lane * HISTOGRAM_BUCKETS;
    this.#pages = init.shared.pages;
    this.#policy = init.policy;
    this.#trackWrites = init.trackWrites;
    this.#probeEvery = init.probeEvery;
    this.#lowFree = init.lowFreePages;
    this.#remote = new RemoteMap(init.slabs);
    this.#staging = new StagingBuffer(MAX_BLOCK_PAGES * PAGE_SIZE);
    this.#stagingView = this.#staging.view();
    this.#stagingBytes = new Uint8Array(this.#stagingView);
    this.#connection = DataConnection.open(init.session, this.#staging, MAX_BLOCK_PAGES);
  }

  get region(): UffdRegion {
    return this.#region;
  }

  close(): void {
    this.#connection.close();
    this.#region.close();
  }

  /** Serves one fault event; `started` is when the event was read (ms). */
  handle(page: number, kind: number, write: boolean, started: number): void {
    const s = this.#stats;
    const b = this.#statsBase;
    if (kind === FaultKind.writeProtect) {
      s[b + LANE_WP]++;
      this.#writeFault(page);
    } else {
      s[b + (kind === FaultKind.minor ? LANE_MINOR : LANE_MISSING)]++;
      this.#resolve(page, write);
    }
    const micros = (performance.now() - started) * 1000;
    s[b + LANE_FAULTS]++;
    s[b + LANE_SERVICE_US] += micros;
    const bucket = micros < 1 ? 0 : Math.min(HISTOGRAM_BUCKETS - 1, Math.floor(Math.log2(micros)));
    this.#histogram[this.#histogramBase + bucket]++;
  }

  /**
   * Whether the write-protected installs in this chunk are often followed by
   * a write (WP faults at least a quarter of such installs). Then
   * blocks are installed writable and counted dirty at once: writing a page
   * back costs less here than a WP fault round trip per page.
   */
  #writeHeavy(page: number): boolean {
    const base = chunkBase(page);
    return 4 * Atomics.load(this.#chunks, base + CHUNK_WP_FAULTS) > Atomics.load(this.#chunks, base + CHUNK_INSTALLS);
  }

  /** Counts a write-protected install (one per fault, whatever the block size). */
  #countInstalls(page: number): void {
    const base = chunkBase(page);
    if (Atomics.add(this.#chunks, base + CHUNK_INSTALLS, 1) > 64) {
      // Decay, so that a phase change is noticed.
      Atomics.store(this.#chunks, base + CHUNK_INSTALLS, Atomics.load(this.#chunks, base + CHUNK_INSTALLS) >> 1);
      Atomics.store(this.#chunks, base + CHUNK_WP_FAULTS, Atomics.load(this.#chunks, base + CHUNK_WP_FAULTS) >> 1);
    }
  }

  /**
   * A write to a write-protected page: it is dirty from now on. In a chunk
   * that is written more often than not, the rest of the page's block is
   * unprotected (and counted dirty) with it: a read-modify-write pass over a
   * block installed by its read would otherwise take a WP fault per page.
   * After a WP fault on the page before, the next MAX_BLOCK_PAGES are.
   */
  #writeFault(page: number): void {
    const base = chunkBase(page);
    Atomics.add(this.#chunks, base + CHUNK_WP_FAULTS, 1);
    Atomics.or(this.#flags, page, FLAG_DIRTY | FLAG_REF);
    try {
      this.#region.writeProtect(page * PAGE_SIZE, PAGE_SIZE, false, true);
    } catch {
      // The page was zapped meanwhile (an eviction): waking is all it needs.
      this.#region.wake(page * PAGE_SIZE, PAGE_SIZE);
    }
    // Writes walking forward over pages installed by reads (a result vector
    // filled in place) unprotect the next MAX_BLOCK_PAGES, whatever the block.
    const last = Atomics.exchange(this.#chunks, base + CHUNK_LAST_WP, page + 1) - 1;
    if (last >= 0 && page > last && page - last <= 2) this.#unprotectAhead(page, Math.min(page + 1 + MAX_BLOCK_PAGES, this.#pages));
    else if (this.#writeHeavy(page)) {
      const block = blockPagesFor(this.#chunks, page, this.#policy);
      this.#unprotectAhead(page, Math.min(page - (page % block) + block, this.#pages));
    }
  }

  /**
   * Unprotects the clean RESIDENT pages in (page, end), in runs.
   * Each page is pinned (FETCHING) and flagged dirty before its protection
   * goes: a page that the reclaimer evicted and a lane reinstalled between a
   * look and the ioctl would otherwise lose its write tracking. A page that
   * is busy, not resident or already dirty ends the run.
   */
  #unprotectAhead(page: number, end: number): void {
    let q = page + 1;
    while (q < end) {
      let r = q;
      while (
        r < end &&
        (Atomics.load(this.#flags, r) & FLAG_DIRTY) === 0 &&
        Atomics.compareExchange(this.#states, r, PageState.resident, PageState.fetching) === PageState.resident
      ) {
        Atomics.or(this.#flags, r, FLAG_DIRTY);
        r++;
      }
      if (r === q) {
        q++;
        continue;
      }
      try {
        this.#region.writeProtect(q * PAGE_SIZE, (r - q) * PAGE_SIZE, false, false);
      } catch {
        // Some were zapped (second chances): their next touch maps them writable, as they are dirty.
      }
      for (let p = q; p < r; p++) Atomics.store(this.#states, p, PageState.resident);
      this.#settled();
      q = r;
    }
  }

  #resolve(page: number, write: boolean): void {
    for (;;) {
      const state = Atomics.load(this.#states, page);
      switch (state) {
        case PageState.zero:
        case PageState.remote:
          if (this.#fetch(page, write)) return;
          break; // another lane claimed it: look again
        case PageState.fetching:
        case PageState.evicting:
          this.#waitSettle(page, state);
          break;
        case PageState.prefetched:
        case PageState.resident:
          // Pin the page (FETCHING) while mapping it, so that the reclaimer
          // cannot zap and punch it between our look and our CONTINUE.
          if (Atomics.compareExchange(this.#states, page, state, PageState.fetching) !== state) break;
          const probe = state === PageState.prefetched ? Atomics.and(this.#flags, page, ~(FLAG_PROBE | FLAG_DENSE_PROBE)) : 0;
          if (probe & FLAG_PROBE) {
            this.#stats[this.#statsBase + LANE_PREFETCH_HITS]++;
            const dense = (probe & FLAG_DENSE_PROBE) !== 0;
            // A density probe's sentinel touched late is no sign of locality (refault.ts).
            recordProbe(this.#chunks, page, !dense || isTouchedSoon(this.#control, this.#evictedAt, page), dense);
          }
          try {
            // A sentinel's first touch is its block's first use, not a
            // second: it earns no reference (refault.ts).
            this.#mapCached(page, write, state === PageState.resident);
          } finally {
            Atomics.store(this.#states, page, PageState.resident);
            this.#settled();
          }
          return;
        default:
          throw new Error(`page ${page} in unknown state ${state}`);
      }
    }
  }

  /** CONTINUE a page that is in the page cache; EEXIST (already mapped) only wakes. */
  #mapCached(page: number, write: boolean, referenced: boolean): void {
    const ref = referenced ? FLAG_REF : 0;
    const flags = write ? Atomics.or(this.#flags, page, ref | FLAG_DIRTY) : Atomics.or(this.#flags, page, ref);
    const protect = this.#trackWrites && !write && (flags & FLAG_DIRTY) === 0 && !this.#writeHeavy(page);
    if (protect) this.#countInstalls(page);
    else if (!write && this.#trackWrites) Atomics.or(this.#flags, page, FLAG_DIRTY);
    const mapped = this.#region.continue(page * PAGE_SIZE, PAGE_SIZE, protect);
    if (mapped === 0) this.#stats[this.#statsBase + LANE_STALE]++;
  }

  #waitSettle(page: number, busy: number): void {
    this.#stats[this.#statsBase + LANE_STATE_WAITS]++;
    const seq = Atomics.load(this.#control, CTL_SETTLED_SEQ);
    if (Atomics.load(this.#states, page) !== busy) return;
    // Bounded wait: owners bump CTL_SETTLED_SEQ when they finish.
    Atomics.wait(this.#control, CTL_SETTLED_SEQ, seq, 2);
    if (Atomics.load(this.#control, CTL_STOP) !== 0) throw new Error('region closed');
  }

  /** Reserves up to `want` pages of budget (at least one); waits for the reclaimer if none is free. */
  #reserve(want: number): number {
    const c = this.#control;
    for (;;) {
      const local = Atomics.load(c, CTL_LOCAL_PAGES);
      const free = Atomics.load(c, CTL_BUDGET_PAGES) - local;
      if (free > 0) {
        const take = Math.min(want, free);
        if (Atomics.compareExchange(c, CTL_LOCAL_PAGES, local, local + take) === local) {
          if (free - take < this.#lowFree) this.#kick();
          return take;
        }
        continue;
      }
      this.#stats[this.#statsBase + LANE_BUDGET_WAITS]++;
      if (Atomics.load(c, CTL_FAILED) !== 0) {
        throw Object.assign(new Error('no local memory can be freed: the memory node failed'), { errno: Atomics.load(c, CTL_FAILED) });
      }
      const seq = Atomics.load(c, CTL_FREED_SEQ);
      this.#kick();
      Atomics.wait(c, CTL_FREED_SEQ, seq, 5);
      if (Atomics.load(c, CTL_STOP) !== 0) throw new Error('region closed');
    }
  }

  #unreserve(pages: number): void {
    if (pages > 0) Atomics.sub(this.#control, CTL_LOCAL_PAGES, pages);
  }

  #kick(): void {
    Atomics.add(this.#control, CTL_KICK_SEQ, 1);
    Atomics.notify(this.#control, CTL_KICK_SEQ, 1);
  }

  /** Fetches the block around `page`; false when another lane claimed `page` first. */
  #fetch(page: number, write: boolean): boolean {
    const continued = findStream(this.#chunks, this.#states, page);
    const stream = streamPagesFor(this.#chunks, continued, this.#policy);
    let blockPages = Math.min(stream > 0 ? stream : isolatedMissPages(this.#chunks, page, this.#policy), MAX_BLOCK_PAGES);
    // Which probe this fetch is, if any (#install): a multi-page block of a
    // stream when its chunk's stream probe is due; a miss that continues
    // none when its chunk's density probe is due (with twice its block, or,
    // where verdicts keep the chunk at a single page, with none: a ghost
    // sentinel, placed after).
    let probe = 0;
    let ghost = false;
    if (this.#probeEvery > 0) {
      this.#stats[this.#statsBase + LANE_PROBES_EXPIRED] += this.#sentinels.expire(this.#states, this.#flags, this.#chunks, this.#evictedAt, this.#control);
      this.#ghosts.expire();
      if (stream === 0) {
        if (isDensityProbeDue(this.#chunks, page, this.#probeEvery)) {
          // The probe asks whether the other half of twice the block would be used.
          ghost = isGhostProbe(this.#chunks, page, blockPages);
          if (!ghost) {
            probe = FLAG_PROBE | FLAG_DENSE_PROBE;
            blockPages = Math.min(2 * blockPages, MAX_BLOCK_PAGES);
          }
        }
      } else if (blockPages > 1 && isStreamProbeDue(this.#chunks, page, blockPages, this.#probeEvery)) {
        probe = FLAG_PROBE;
      }
    }
    let reserved: number;
    try {
      reserved = this.#reserve(blockPages);
    } catch (error) {
      if ((error as Error).message === 'region closed') throw error;
      this.#poisonFault(page, error as Error & { errno?: number });
      return true;
    }
    while (blockPages > reserved) blockPages >>= 1; // the budget is short: a smaller aligned block
    const start = page - (page % blockPages);
    const end = Math.min(start + blockPages, this.#pages);
    let claimed = 0;
    for (let q = start; q < end; q++) {
      const state = Atomics.load(this.#states, q);
      const ok = (state === PageState.zero || state === PageState.remote) &&
        Atomics.compareExchange(this.#states, q, state, PageState.fetching) === state;
      this.#claimed[q - start] = ok ? state : NOT_CLAIMED;
      if (ok) claimed++;
    }
    this.#unreserve(reserved - claimed);
    if (this.#claimed[page - start] === NOT_CLAIMED) {
      this.#abandon(start, end);
      this.#unreserve(claimed);
      return false;
    }
    try {
      this.#read(start, end);
    } catch (error) {
      this.#abandon(start, end);
      this.#unreserve(claimed);
      this.#poisonFault(page, error as Error & { errno?: number });
      return true;
    }
    this.#install(page, start, end, claimed, write, probe, stream > 0);
    recordMiss(this.#chunks, page, start, end, continued, this.#policy);
    if (ghost) this.#ghosts.place(page ^ blockPages, page);
    return true;
  }

  /** Gives back claims on every page of [start, end) (their data was never touched). */
  #abandon(start: number, end: number): void {
    for (let q = start; q < end; q++) {
      const was = this.#claimed[q - start];
      if (was !== NOT_CLAIMED) Atomics.store(this.#states, q, was);
    }
    this.#settled();
  }

  /** Reads the claimed REMOTE runs of the block into staging; zero-fills the claimed ZERO pages. */
  #read(start: number, end: number): void {
    let ops = 0;
    let q = start;
    while (q < end) {
      const was = this.#claimed[q - start];
      if (was === NOT_CLAIMED) {
        q++;
        continue;
      }
      let r = q + 1;
      while (r < end && this.#claimed[r - start] === was) r++;
      const offset = (q - start) * PAGE_SIZE;
      const bytes = (r - q) * PAGE_SIZE;
      if (was === PageState.zero) {
        this.#stagingBytes.fill(0, offset, offset + bytes);
        this.#stats[this.#statsBase + LANE_ZERO_FILLED] += r - q;
      } else {
        setOp(this.#ops, ops++, OpKind.read, q - start, offset, this.#remote.address(q), bytes, this.#remote.key(q));
        this.#stats[this.#statsBase + LANE_PAGES_FETCHED] += r - q;
        this.#stats[this.#statsBase + LANE_BYTES_FETCHED] += bytes;
      }
      q = r;
    }
    if (ops === 0) return;
    let posted = 0;
    let done = 0;
    while (done < ops) {
      if (posted < ops) posted += this.#connection.post(this.#ops.subarray(posted * 6), ops - posted);
      const n = this.#connection.poll(this.#completions, 1000);
      for (let i = 0; i < n; i++) {
        const status = this.#completions[i * COMPLETION_STRIDE + COMPLETION_STATUS];
        if (status !== 0) this.#fail(start, status);
      }
      done += n;
      if (n === 0 && Atomics.load(this.#control, CTL_STOP) !== 0) throw new Error('region closed');
    }
  }

  /** A completion failed: the memory node cannot give this block. */
  #fail(start: number, status: number): never {
    throw completionError('READ', status, this.#remote.address(start), PAGE_SIZE, undefined);
  }

  /**
   * The page cannot be had (the memory node is gone): record why, and resolve
   * the fault with SIGBUS (UFFDIO_POISON) rather than leave the thread
   * blocked forever. The lane lives on to answer later faults the same way.
   */
  failFault(page: number, error: Error & { errno?: number }): void {
    this.#poisonFault(page, error);
  }

  #poisonFault(page: number, error: Error & { errno?: number }): void {
    recordFailure(this.#control, this.#failure, typeof error.errno === 'number' ? error.errno : 0, `a fault at page ${page} could not be served: ${error.message}`);
    try {
      this.#region.poison(page * PAGE_SIZE, PAGE_SIZE);
    } catch {
      // Without UFFDIO_POISON (Linux < 6.6) the thread stays blocked until the region closes.
    }
  }

  /**
   * Installs the claimed pages (`claimed` of them: #claimed). Blocks are mapped whole (a MINOR fault per
   * page costs a full round trip here), except a probe's sentinel page
   * (`probe`: FLAG_PROBE, with FLAG_DENSE_PROBE for a density probe; 0: not
   * a probe), left PREFETCHED so that its touch is seen and feeds the
   * block policy.
   */
  #install(page: number, start: number, end: number, claimed: number, write: boolean, probe: number, streamed: boolean): void {
    // A probe leaves one page of the block unmapped, the one farthest from the
    // fault (the block's last claimed page; before the fault when the fault
    // is the last; for a density probe, the fault's counterpart in the
    // other half): its first touch raises MINOR (a prefetch hit); evicted
    // untouched, it is waste. One page per probe keeps the cost at one extra
    // fault per probed block. A ghost sentinel fetched here, with another
    // page's density block, becomes the block's sentinel (lanes/ghost-probes.ts);
    // only an elastic region with probes has ghosts.
    const ghost = this.#policy.kind === 'elastic' && this.#probeEvery > 0 ? this.#ghosts.take(page, start, end, this.#claimed, NOT_CLAIMED, probe === 0 && !streamed) : -1;
    let sentinel = ghost;
    if (ghost >= 0) {
      probe = FLAG_PROBE | FLAG_DENSE_PROBE;
    } else if (probe & FLAG_DENSE_PROBE && end - start > 1) {
      // A density probe's sentinel: the faulting page's counterpart in the other half of the block.
      const buddy = start + ((page - start) ^ ((end - start) >> 1));
      if (buddy < end && this.#claimed[buddy - start] !== NOT_CLAIMED) sentinel = buddy;
    }
    if (probe !== 0 && sentinel < 0) {
      for (let p = end - 1; p > page && sentinel < 0; p--) if (this.#claimed[p - start] !== NOT_CLAIMED) sentinel = p;
      for (let p = start; p < page && sentinel < 0; p++) if (this.#claimed[p - start] !== NOT_CLAIMED) sentinel = p;
    }
    if (probe & FLAG_DENSE_PROBE && sentinel >= 0) {
      if (sentinel !== ghost) densityProbePlaced(this.#chunks, sentinel); // a ghost made sentinel is out already
      this.#sentinels.add(sentinel, stampSentinel(this.#control, this.#evictedAt, sentinel));
    }
    // Flags first, while the pages are still ours (FETCHING): once a page is
    // mapped, a write to it may raise a WP fault that another lane serves by
    // setting FLAG_DIRTY, which must not be overwritten afterwards.
    // A write fault maps its whole block writable and dirty: a WP fault per
    // page costs a full round trip, far more than writing a clean page back.
    // The faulting page is referenced only when it comes back soon after its
    // eviction (paging/refault.ts). The pages of a multi-page block are
    // otherwise FLAG_NEW, spared one pass of the hand without a zap, as the
    // touches the block was fetched for are still to come (the faulting page
    // with them, so that the block is spared, and later evicted, as one run
    // of pages: one zap). Pages with neither are evicted at the hand's next
    // pass unless a fault references them meanwhile (a zap per page, and a
    // MINOR fault per touched one, cost more than refetching the few that
    // turn out hot).
    // Only a block that maps two or more pages is spared: a lone page (its
    // block's other pages were local already, or a density probe of a
    // single-page block) is an isolated miss, and each page left mapped
    // between the hand's victims cuts the span zap in two (gups made 1,013
    // zap calls, 316 without). The block's pages that were local already
    // are spared with it, so that the hand meets the block as one run:
    // pagerank's rank vector, filled in by blocks of every size, made 1,520
    // zap calls against 465.
    const mapped = sentinel >= 0 ? claimed - 1 : claimed;
    const spare = mapped > 1 ? FLAG_NEW : 0;
    const writable = write || !this.#trackWrites || this.#writeHeavy(page);
    if (!writable) this.#countInstalls(page);
    for (let p = start; p < end; p++) {
      const was = this.#claimed[p - start];
      if (was === NOT_CLAIMED) {
        if (spare !== 0 && Atomics.load(this.#states, p) === PageState.resident) Atomics.or(this.#flags, p, FLAG_NEW);
        continue;
      }
      const fromRemote = was === PageState.remote ? FLAG_REMOTE_VALID : 0;
      const dirty = writable && this.#trackWrites ? FLAG_DIRTY : 0;
      const referenced = p === page && isRecentRefault(this.#control, this.#evictedAt, p);
      if (referenced) this.#stats[this.#statsBase + LANE_REFAULTS]++;
      Atomics.store(this.#flags, p, fromRemote | (p === sentinel ? probe : dirty | (referenced ? FLAG_REF : spare)));
      Atomics.store(this.#owners, p, this.#owner);
    }
    let q = start;
    while (q < end) {
      if (this.#claimed[q - start] === NOT_CLAIMED) {
        q++;
        continue;
      }
      let r = q + 1;
      while (r < end && this.#claimed[r - start] !== NOT_CLAIMED) r++;
      if (sentinel >= q && sentinel < r) {
        if (sentinel > q) this.#copy(q, sentinel, start, writable);
        this.#prefetch(sentinel, sentinel + 1, start);
        if (sentinel + 1 < r) this.#copy(sentinel + 1, r, start, writable);
        this.#stats[this.#statsBase + LANE_PROBE_PAGES]++;
      } else {
        this.#copy(q, r, start, writable);
      }
      for (let p = q; p < r; p++) {
        Atomics.store(this.#states, p, p === sentinel ? PageState.prefetched : PageState.resident);
      }
      q = r;
    }
    this.#settled();
  }

  #copy(from: number, to: number, start: number, writable: boolean): void {
    const protect = !writable;
    this.#region.copy(from * PAGE_SIZE, this.#stagingView, (from - start) * PAGE_SIZE, (to - from) * PAGE_SIZE, protect);
  }

  /** Puts pages into the page cache unmapped: their first touch raises MINOR. */
  #prefetch(from: number, to: number, start: number): void {
    if (to > from) this.#region.pwrite(from * PAGE_SIZE, this.#stagingView, (from - start) * PAGE_SIZE, (to - from) * PAGE_SIZE);
  }

  #settled(): void {
    notifySettled(this.#control);
  }
}
