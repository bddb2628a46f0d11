// How often the elastic policy probes (paging/elastic-block.ts): probes cost
// a MINOR fault or a wasted page each, so a chunk whose probes keep giving the
// same answer is probed less and less, and one whose answer changes is probed
// at the full rate again. Pure functions over a chunk table: no region needed.
import { describe, expect, it } from 'vitest';
import { allocatePagerShared } from '../../dist/paging/layout.js';
import { findStream, isDensityProbeDue, isStreamProbeDue, recordMiss, recordProbe } from '../../dist/paging/elastic-block.js';

const ELASTIC = { kind: 'elastic' } as const;
const CHUNK_PAGES = 512;
/** Page states of the table's pages: all ZERO (a scan skips no local page). */
const NO_PAGE_LOCAL = new Uint8Array(4 * CHUNK_PAGES);

function chunkTable(): Int32Array {
  return new Int32Array(allocatePagerShared(4 * CHUNK_PAGES, 1, 1024, 0).chunks);
}

/** A forward scan of chunk 0 in 16-page blocks, wrapping; each probe's sentinel is used (or not). Returns the probes taken. */
function scan(chunks: Int32Array, blocks: number, used: boolean, from = 0): number {
  let probes = 0;
  for (let i = from; i < from + blocks; i++) {
    const start = (i * 16) % CHUNK_PAGES;
    if (isStreamProbeDue(chunks, start, 16, 8)) {
      probes++;
      recordProbe(chunks, start + 15, used, false);
    }
    recordMiss(chunks, start, start, start + 16, findStream(chunks, NO_PAGE_LOCAL, start), ELASTIC);
  }
  return probes;
}

/** Misses in chunk 0 that continue no stream; each density probe's sentinel is touched soon (or not: `used` of the probe's index). Returns the probes taken. */
function isolatedMisses(chunks: Int32Array, misses: number, used: boolean | ((probe: number) => boolean)): number {
  let probes = 0;
  for (let miss = 0; miss < misses; miss++) {
    if (isDensityProbeDue(chunks, 7, 8)) {
      recordProbe(chunks, 8, typeof used === 'boolean' ? used : used(probes), true);
      probes++;
    }
  }
  return probes;
}

describe('probe rate', () => {
  it('stream probes back off while every probe is used, and return to every other block at the first waste', () => {
    const chunks = chunkTable();
    const used = scan(chunks, 512, true);
    // Every other block throughout would be 256 probes.
    expect(used).toBeLessThan(64);
    const wasted = scan(chunks, 64, false, 512);
    // From the first wasted probe on, every other block again.
    expect(wasted).toBeGreaterThanOrEqual(20);
  });

  it('density probes back off where they find no locality, and return to the full rate when they find it', () => {
    const chunks = chunkTable();
    // Every 8th miss throughout would be 512 probes.
    expect(isolatedMisses(chunks, 4096, false)).toBeLessThan(128);
    // One verdict at the reduced rate (8 probes), then every 8th miss again.
    expect(isolatedMisses(chunks, 1024, true)).toBeGreaterThanOrEqual(48);
  });

  it('density probes back off where they hit by chance (under half), not only where they find nothing', () => {
    // Uniform random access at 50% local: about one sentinel in five is
    // touched within its window by chance. Three in eight hit here: a verdict
    // that holds the block at 4 KiB, and probes that cost without informing.
    const chunks = chunkTable();
    expect(isolatedMisses(chunks, 4096, (probe) => probe % 8 < 3)).toBeLessThan(128);
    // Half or more: the block holds and so does the rate (locality that may yet grow it).
    const halves = chunkTable();
    expect(isolatedMisses(halves, 4096, (probe) => probe % 2 === 0)).toBe(512);
  });
});
