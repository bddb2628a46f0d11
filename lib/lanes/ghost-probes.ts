/**
 * A lane's density probes by ghost sentinel (paging/elastic-block.ts:
 * isGhostProbe): the probe of a chunk whose verdicts keep its density block
 * at one page fetches nothing. The
 * faulting page's neighbour, left remote, is flagged FLAG_GHOST; its miss
 * within DENSE_HIT_WINDOW evictions is a hit (decided by the lane that
 * serves the miss: take), its window passing first is waste (decided here,
 * by the lane that placed it: expire).
 *
 * Why not fetch the sentinel, as a probe at a larger block or of a rising
 * chunk does: such a chunk has shown no locality, and most of its probes
 * waste (uniform random access at 50% local hits one in five). A fetched sentinel
 * took a frame for nothing and its late touch a MINOR fault; its hit saved
 * a fetch, but on shm or tcp a MINOR fault costs nearly what a fetch does.
 * A ghost's hit is the miss that would have come anyway.
 *
 * A ghost fetched with another page's density block (that page's miss came
 * first) can no longer be seen missing: it becomes that block's sentinel,
 * left unmapped, so that its touch is still seen (a MINOR fault, as a
 * fetched probe's). Counting it as neither would bias the verdict to waste:
 * the ghosts so lost are the ones whose neighbourhood was in use. One
 * fetched with a stream's block is cancelled: a stream passing is no sign
 * of density, and as sentinels such ghosts cost a strided walk a MINOR
 * fault each (default stencil: 5,265 MINOR faults against 3,656 with
 * fetched sentinels, 1.067x the 4 KiB block's time against 1.034x).
 *
 * Whoever clears the flag (an atomic AND, by the installing lane or here)
 * decides the ghost: exactly one does. A ghost decided at its miss whose
 * page is then evicted and made a ghost again within one window has its new
 * flag cleared here early, as waste: a page is evicted at the earliest a
 * CLOCK pass after its install, about a budget's worth of evictions, four
 * windows.
 *
 * The ring is a FIFO in placement order (so in stamp order), single
 * producer and single consumer: the lane itself. A full ring decides its
 * oldest ghost as waste early, so that no ghost stays out for ever.
 */
import { densityProbeCancelled, densityProbeDueAgain, densityProbePlaced, recordProbe } from '../paging/elastic-block';
import {
  CTL_BUDGET_PAGES,
  CTL_EVICTIONS,
  FLAG_GHOST,
  LANE_GHOST_HITS,
  LANE_GHOSTS,
  LANE_GHOSTS_WASTED,
  LANE_STRIDE,
  type PagerShared,
} from '../paging/layout';
import { PageState, isAbsent, notifySettled } from '../paging/page-state';
import { DENSE_HIT_WINDOW } from '../paging/refault';
import { StampRing } from './stamp-ring';

export const GHOST_CAPACITY = 1024;

export class GhostProbes {
  readonly #states: Uint8Array;
  readonly #flags: Uint8Array;
  readonly #chunks: Int32Array;
  readonly #control: Int32Array;
  readonly #stats: Float64Array;
  readonly #statsBase: number;
  readonly #pages: number;
  readonly #ring = new StampRing(GHOST_CAPACITY);

  constructor(shared: PagerShared, lane: number) {
    this.#states = new Uint8Array(shared.states);
    this.#flags = new Uint8Array(shared.flags);
    this.#chunks = new Int32Array(shared.chunks);
    this.#control = new Int32Array(shared.control);
    this.#stats = new Float64Array(shared.laneStats);
    this.#statsBase = lane * LANE_STRIDE;
    this.#pages = shared.pages;
  }

  /**
   * Flags `ghost` the sentinel of the density probe of the miss at `page`.
   * A page that is local, or on its way, cannot be seen missing (nor one
   * past the region's end): then the chunk's next miss is due the probe
   * instead.
   */
  place(ghost: number, page: number): void {
    const state = ghost < this.#pages ? Atomics.load(this.#states, ghost) : PageState.resident;
    // Claimed (FETCHING) while flagged, so that no install overwrites the
    // flag unseen: a lane that meets it waits for the settle below.
    if (!isAbsent(state) || Atomics.compareExchange(this.#states, ghost, state, PageState.fetching) !== state) {
      densityProbeDueAgain(this.#chunks, page);
      return;
    }
    densityProbePlaced(this.#chunks, ghost); // before the flag: a decision never finds fewer out than there are
    Atomics.or(this.#flags, ghost, FLAG_GHOST);
    Atomics.store(this.#states, ghost, state); // release: the flag is visible to whoever claims the page next
    notifySettled(this.#control);
    this.#stats[this.#statsBase + LANE_GHOSTS]++;
    if (this.#ring.full) this.#decideOldest();
    this.#ring.push(ghost, Atomics.load(this.#control, CTL_EVICTIONS));
  }

  /**
   * Decides the ghosts among the pages of [start, end) that the caller has
   * claimed (`claimed[p - start]` is not `notClaimed`) to install: the
   * faulting page's is a hit; another's becomes the block's sentinel
   * (returned) when `mayBeSentinel` (the block is a density block and no
   * probe already), else it is cancelled. Returns -1 when none becomes the
   * sentinel.
   */
  take(page: number, start: number, end: number, claimed: Int8Array, notClaimed: number, mayBeSentinel: boolean): number {
    let sentinel = -1;
    for (let p = start; p < end; p++) {
      if (claimed[p - start] === notClaimed || (Atomics.load(this.#flags, p) & FLAG_GHOST) === 0) continue;
      if ((Atomics.and(this.#flags, p, ~FLAG_GHOST) & FLAG_GHOST) === 0) continue; // its window passed meanwhile
      if (p === page) {
        this.#stats[this.#statsBase + LANE_GHOST_HITS]++;
        recordProbe(this.#chunks, p, true, true);
      } else if (mayBeSentinel && sentinel < 0) {
        sentinel = p;
      } else {
        densityProbeCancelled(this.#chunks, p);
      }
    }
    return sentinel;
  }

  /** Records as waste each ghost of this lane whose window has passed and that is still flagged. */
  expire(): void {
    if (this.#ring.empty) return;
    const now = Atomics.load(this.#control, CTL_EVICTIONS);
    const window = Atomics.load(this.#control, CTL_BUDGET_PAGES) * DENSE_HIT_WINDOW;
    while (this.#ring.oldestExpired(now, window)) this.#decideOldest();
  }

  #decideOldest(): void {
    const page = this.#ring.oldestPage;
    this.#ring.shift();
    if ((Atomics.and(this.#flags, page, ~FLAG_GHOST) & FLAG_GHOST) === 0) return; // decided at its install
    this.#stats[this.#statsBase + LANE_GHOSTS_WASTED]++;
    recordProbe(this.#chunks, page, false, true);
  }
}
