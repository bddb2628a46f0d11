// A lane's density probes by ghost sentinel (lanes/ghost-probes.ts): a ghost
// is placed only on a page that is not local, and fetches nothing; its miss
// is a hit, its window passing first is waste, each decided exactly once; a
// ghost fetched with another page's block becomes that block's sentinel; a
// full ring decides its oldest early rather than leave it out for ever.
// Over the shared page table, as the lanes see it.
import { describe, expect, it } from 'vitest';
import { GHOST_CAPACITY, GhostProbes } from '../../dist/lanes/ghost-probes.js';
import { densityProbePlaced, isDensityProbeDue, isGhostProbe, recordProbe } from '../../dist/paging/elastic-block.js';
import {
  allocatePagerShared,
  CHUNK_DENSE_HITS,
  CHUNK_DENSE_PENDING,
  CHUNK_DENSE_WASTE,
  CHUNK_PAGES,
  CHUNK_STRIDE,
  CTL_EVICTIONS,
  FLAG_GHOST,
  FLAG_REMOTE_VALID,
  LANE_GHOST_HITS,
  LANE_GHOSTS,
  LANE_GHOSTS_WASTED,
} from '../../dist/paging/layout.js';
import { PageState } from '../../dist/paging/page-state.js';

const BUDGET = 1024;
/** DENSE_HIT_WINDOW of the budget, in evictions. */
const WINDOW = BUDGET / 4;
const PAGES = 8 * CHUNK_PAGES;
const NOT_CLAIMED = -1;

function table() {
  const shared = allocatePagerShared(PAGES, 1, BUDGET, 0);
  const t = {
    shared,
    states: new Uint8Array(shared.states),
    flags: new Uint8Array(shared.flags),
    chunks: new Int32Array(shared.chunks),
    control: new Int32Array(shared.control),
    stats: new Float64Array(shared.laneStats),
  };
  t.states.fill(PageState.remote);
  t.flags.fill(FLAG_REMOTE_VALID);
  return { ...t, ghosts: new GhostProbes(shared, 0) };
}

type Table = ReturnType<typeof table>;

function pending(t: Table): number {
  let n = 0;
  for (let base = 0; base < t.chunks.length; base += CHUNK_STRIDE) n += t.chunks[base + CHUNK_DENSE_PENDING];
  return n;
}

/** The lane claimed [start, end) to install it (every page). */
function claimAll(start: number, end: number): Int8Array {
  return new Int8Array(end - start).fill(PageState.remote);
}

describe('ghost probes', () => {
  it('are the probes of a chunk whose verdicts keep it at a single page; a rising chunk fetches its sentinels', () => {
    const t = table();
    const verdict = (hits: number): void => {
      for (let i = 0; i < 8; i++) {
        densityProbePlaced(t.chunks, 0);
        recordProbe(t.chunks, 0, i < hits, true);
      }
    };
    expect(isGhostProbe(t.chunks, 0, 1)).toBe(false); // no verdict yet: rising
    verdict(1); // one in eight hit: a single page still, probed less often
    expect(isGhostProbe(t.chunks, 0, 1)).toBe(true);
    expect(isGhostProbe(t.chunks, 0, 2)).toBe(false); // a larger block always fetches
    expect(isGhostProbe(t.chunks, CHUNK_PAGES, 1)).toBe(false); // the next chunk has no verdict
    verdict(8); // all hit: the block grows, rising again
    expect(isGhostProbe(t.chunks, 0, 1)).toBe(false);
  });

  it('a ghost fetches nothing and stays remote; untouched, it is waste once its window has passed, and only then', () => {
    const t = table();
    t.ghosts.place(11, 10);
    expect(t.states[11]).toBe(PageState.remote);
    expect(t.flags[11]).toBe(FLAG_REMOTE_VALID | FLAG_GHOST);
    expect(pending(t)).toBe(1);
    expect(t.stats[LANE_GHOSTS]).toBe(1);
    t.control[CTL_EVICTIONS] = WINDOW;
    t.ghosts.expire();
    expect(t.flags[11]).toBe(FLAG_REMOTE_VALID | FLAG_GHOST);
    t.control[CTL_EVICTIONS] = WINDOW + 1;
    t.ghosts.expire();
    expect(t.flags[11]).toBe(FLAG_REMOTE_VALID);
    expect(t.chunks[CHUNK_DENSE_WASTE]).toBe(1);
    expect(pending(t)).toBe(0);
    expect(t.stats[LANE_GHOSTS_WASTED]).toBe(1);
    t.control[CTL_EVICTIONS] = 10 * WINDOW;
    t.ghosts.expire();
    expect(t.chunks[CHUNK_DENSE_WASTE]).toBe(1);
  });

  it('a page local or on its way is no ghost: the chunk is due its probe at its next miss', () => {
    const t = table();
    for (const state of [PageState.resident, PageState.prefetched, PageState.fetching, PageState.evicting]) {
      t.states[21] = state;
      expect(isDensityProbeDue(t.chunks, 20, 1 << 20)).toBe(false);
      t.ghosts.place(21, 20);
      expect(t.flags[21] & FLAG_GHOST).toBe(0);
      expect(t.states[21]).toBe(state);
      expect(pending(t)).toBe(0);
      expect(isDensityProbeDue(t.chunks, 20, 1 << 20)).toBe(true);
    }
    // Past the region's end: none either.
    t.ghosts.place(PAGES, PAGES - 1);
    expect(pending(t)).toBe(0);
    expect(t.stats[LANE_GHOSTS]).toBe(0);
  });

  it('its miss is a hit; fetched with another page, it becomes the sentinel, or is cancelled when the block has one', () => {
    const t = table();
    for (const [ghost, page] of [[31, 30], [41, 40], [43, 42], [45, 44]]) t.ghosts.place(ghost, page);
    expect(pending(t)).toBe(4);
    // The miss at 31 itself.
    expect(t.ghosts.take(31, 31, 32, claimAll(31, 32), NOT_CLAIMED, true)).toBe(-1);
    expect(t.chunks[CHUNK_DENSE_HITS]).toBe(1);
    expect(t.stats[LANE_GHOST_HITS]).toBe(1);
    expect(pending(t)).toBe(3);
    // A block [40, 48) fetched for a miss at 47, 45 not claimed (another lane has it):
    // 41 becomes the sentinel (still out), 43 is cancelled, 45 is left alone.
    const claimed = claimAll(40, 48);
    claimed[45 - 40] = NOT_CLAIMED;
    expect(t.ghosts.take(47, 40, 48, claimed, NOT_CLAIMED, true)).toBe(41);
    expect(pending(t)).toBe(2);
    expect([t.flags[41], t.flags[43], t.flags[45]].map((f) => f & FLAG_GHOST)).toEqual([0, 0, FLAG_GHOST]);
    // A block that has its sentinel, or a stream's: a ghost in it is cancelled.
    t.ghosts.place(51, 50);
    expect(t.ghosts.take(48, 48, 64, claimAll(48, 64), NOT_CLAIMED, false)).toBe(-1);
    expect(pending(t)).toBe(2);
    // Decided once: the window passing finds only 45 still a ghost.
    t.control[CTL_EVICTIONS] = WINDOW + 1;
    t.ghosts.expire();
    expect(t.chunks[CHUNK_DENSE_WASTE]).toBe(1);
    expect(t.chunks[CHUNK_DENSE_HITS]).toBe(1);
    expect(pending(t)).toBe(1); // 41, now a fetched sentinel, decided at its touch or eviction
  });

  it('decides in placement order, and a full ring decides its oldest as waste at once', () => {
    const t = table();
    const placed = GHOST_CAPACITY + 10;
    for (let i = 0; i < placed; i++) {
      t.control[CTL_EVICTIONS] = i;
      t.ghosts.place(2 * i + 1, 2 * i);
    }
    expect(t.stats[LANE_GHOSTS_WASTED]).toBe(10);
    for (let i = 0; i < 10; i++) expect(t.flags[2 * i + 1] & FLAG_GHOST, `ghost ${i}`).toBe(0);
    t.control[CTL_EVICTIONS] = placed;
    const due = placed - WINDOW; // stamps 0 .. due - 1
    t.ghosts.expire();
    expect(t.stats[LANE_GHOSTS_WASTED]).toBe(due);
    for (let i = 0; i < placed; i++) expect(t.flags[2 * i + 1] & FLAG_GHOST, `ghost ${i}`).toBe(i < due ? 0 : FLAG_GHOST);
    expect(pending(t)).toBe(placed - due);
  });
});
