// A lane's watch over its density-probe sentinels (lanes/sentinel-watch.ts):
// a sentinel untouched once its window has passed is waste from then on, and
// is recorded so at once, exactly once, and only if it is still the same
// untouched sentinel; it is then mapped. Over the shared page table, with a
// recording mapper in place of the lane's CONTINUE.
import { describe, expect, it } from 'vitest';
import { SentinelWatch } from '../../dist/lanes/sentinel-watch.js';
import {
  allocatePagerShared,
  CHUNK_DENSE_WASTE,
  CTL_EVICTIONS,
  FLAG_DENSE_PROBE,
  FLAG_PROBE,
  FLAG_REMOTE_VALID,
} from '../../dist/paging/layout.js';
import { PageState } from '../../dist/paging/page-state.js';
import { stampSentinel } from '../../dist/paging/refault.js';

const BUDGET = 1024;
/** DENSE_HIT_WINDOW of the budget, in evictions. */
const WINDOW = BUDGET / 4;

function table() {
  const shared = allocatePagerShared(2048, 1, BUDGET, 0);
  return {
    states: new Uint8Array(shared.states),
    flags: new Uint8Array(shared.flags),
    chunks: new Int32Array(shared.chunks),
    evictedAt: new Int32Array(shared.evictedAt),
    control: new Int32Array(shared.control),
  };
}

type Table = ReturnType<typeof table>;

/** Installs a density sentinel at `page` as a lane does, and watches it. */
function install(t: Table, watch: SentinelWatch, page: number): void {
  t.states[page] = PageState.prefetched;
  t.flags[page] = FLAG_REMOTE_VALID | FLAG_PROBE | FLAG_DENSE_PROBE;
  watch.add(page, stampSentinel(t.control, t.evictedAt, page));
}

function expire(t: Table, watch: SentinelWatch): number {
  return watch.expire(t.states, t.flags, t.chunks, t.evictedAt, t.control);
}

/** A watch whose mapper records the pages it maps, checking each is pinned meanwhile. */
function watching(t: Table): { watch: SentinelWatch; mapped: number[] } {
  const mapped: number[] = [];
  const watch = new SentinelWatch((page) => {
    expect(t.states[page]).toBe(PageState.fetching);
    mapped.push(page);
  });
  return { watch, mapped };
}

describe('sentinel watch', () => {
  it('records an untouched sentinel as waste once its window has passed, and only then, and maps it', () => {
    const t = table();
    const { watch, mapped } = watching(t);
    install(t, watch, 10);
    t.control[CTL_EVICTIONS] = WINDOW;
    expect(expire(t, watch)).toBe(0);
    expect(t.flags[10]).toBe(FLAG_REMOTE_VALID | FLAG_PROBE | FLAG_DENSE_PROBE);
    t.control[CTL_EVICTIONS] = WINDOW + 1;
    expect(expire(t, watch)).toBe(1);
    expect(t.chunks[CHUNK_DENSE_WASTE]).toBe(1);
    // Mapped, unreferenced, and no longer a probe: a later touch costs no
    // fault, and its eviction records nothing more.
    expect(mapped).toEqual([10]);
    expect(t.states[10]).toBe(PageState.resident);
    expect(t.flags[10]).toBe(FLAG_REMOTE_VALID);
    t.control[CTL_EVICTIONS] = 10 * WINDOW;
    expect(expire(t, watch)).toBe(0);
    expect(t.chunks[CHUNK_DENSE_WASTE]).toBe(1);
  });

  it('leaves a sentinel that was touched, is busy, or was evicted and became a sentinel again', () => {
    const t = table();
    const { watch, mapped } = watching(t);
    for (const page of [1, 2, 3, 4]) install(t, watch, page);
    t.states[1] = PageState.resident; // touched: its lane decided it
    t.states[2] = PageState.evicting; // the reclaimer decides it
    // Evicted, refetched and a sentinel again later: the new one has its own entry and window.
    t.control[CTL_EVICTIONS] = 100;
    install(t, watch, 3);
    t.control[CTL_EVICTIONS] = WINDOW + 1;
    expect(expire(t, watch)).toBe(1); // page 4 only
    expect(t.flags[4]).toBe(FLAG_REMOTE_VALID);
    expect(t.flags[1] & FLAG_DENSE_PROBE).not.toBe(0);
    expect(t.flags[2] & FLAG_DENSE_PROBE).not.toBe(0);
    expect(t.flags[3] & FLAG_DENSE_PROBE).not.toBe(0);
    t.control[CTL_EVICTIONS] = 100 + WINDOW + 1;
    expect(expire(t, watch)).toBe(1); // the second sentinel at page 3
    expect(t.flags[3]).toBe(FLAG_REMOTE_VALID);
    expect(t.chunks[CHUNK_DENSE_WASTE]).toBe(2);
    expect(mapped).toEqual([4, 3]);
    expect([t.states[1], t.states[2]]).toEqual([PageState.resident, PageState.evicting]);
  });

  it('a sentinel that cannot be mapped (the region closing) stays PREFETCHED, and the error goes to the lane', () => {
    const t = table();
    const watch = new SentinelWatch(() => {
      throw new Error('region closed');
    });
    install(t, watch, 9);
    t.control[CTL_EVICTIONS] = WINDOW + 1;
    expect(() => expire(t, watch)).toThrow('region closed');
    expect(t.states[9]).toBe(PageState.prefetched);
  });

  it('decides in install order, and a full watch drops its oldest', () => {
    const t = table();
    const { watch } = watching(t);
    for (let i = 0; i < 300; i++) {
      t.control[CTL_EVICTIONS] = i;
      install(t, watch, 1000 + i);
    }
    // Evictions 300: the sentinels stamped before 300 - WINDOW are due.
    t.control[CTL_EVICTIONS] = 300;
    const due = 300 - WINDOW; // stamps 0 .. due - 1
    const dropped = 300 - 256; // the oldest, no longer watched
    expect(expire(t, watch)).toBe(due - dropped);
    for (let i = 0; i < 300; i++) {
      const decided = i >= dropped && i < due;
      expect(t.flags[1000 + i] & FLAG_DENSE_PROBE, `sentinel ${i}`).toBe(decided ? 0 : FLAG_DENSE_PROBE);
    }
  });
});
