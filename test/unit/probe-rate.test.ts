// How often the elastic policy probes (paging/elastic-block.ts): probes cost
// a MINOR fault or a wasted page each, so a chunk whose probes keep giving the
// same answer is probed less and less, and one whose answer changes is probed
// at the full rate again. Pure functions over a chunk table: no region needed.
import { describe, expect, it } from 'vitest';
import { allocatePagerShared } from '../../dist/paging/layout.js';
import { densityProbePlaced, findStream, isDensityProbeDue, isolatedMissPages, isStreamProbeDue, recordMiss, recordProbe } from '../../dist/paging/elastic-block.js';

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

/**
 * Misses in chunk 0 that continue no stream; each density probe's sentinel
 * is touched soon (or not: `used` of the probe's index), decided before the
 * next miss. Returns the probes taken.
 */
function isolatedMisses(chunks: Int32Array, misses: number, used: boolean | ((probe: number) => boolean)): number {
  let probes = 0;
  for (let miss = 0; miss < misses; miss++) {
    if (isDensityProbeDue(chunks, 7, 8)) {
      densityProbePlaced(chunks, 8);
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

  it('a stream carries its probes across chunks: a long scan in 256 KiB blocks backs off', () => {
    // Sixteen chunks of eight 64-page blocks each, every probe used. Probed
    // every other block, a chunk alone never gathers a verdict's eight
    // probes in one pass: 64 probes, a MINOR fault each.
    const chunks = new Int32Array(allocatePagerShared(16 * CHUNK_PAGES, 1, 1024, 6).chunks);
    const states = new Uint8Array(16 * CHUNK_PAGES);
    let probes = 0;
    for (let start = 0; start < 16 * CHUNK_PAGES; start += 64) {
      const stream = findStream(chunks, states, start);
      if (start > 0) expect(stream).toBeGreaterThanOrEqual(0);
      if (isStreamProbeDue(chunks, start, 64, 8)) {
        probes++;
        recordProbe(chunks, start + 63, true, false);
      }
      recordMiss(chunks, start, start, start + 64, stream, ELASTIC);
    }
    expect(probes).toBeLessThan(40);
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
    // Half or more: the block holds and so does the rate (locality that may
    // yet grow it), once the first verdict, at the rising rate, is in.
    const halves = chunkTable();
    expect(isolatedMisses(halves, 16, (probe) => probe % 2 === 0)).toBe(8);
    expect(isolatedMisses(halves, 4096, (probe) => probe % 2 === 0)).toBe(512);
  });

  it('a chunk entering a dense phase is probed at the rising rate until its density block stops growing', () => {
    const chunks = chunkTable();
    // Three verdicts of eight hits (4 KiB, 16, 64, 256), a probe every other
    // miss; at every 8th miss this took 192 misses of small blocks.
    expect(isolatedMisses(chunks, 48, true)).toBe(24);
    expect(isolatedMissPages(chunks, 7, ELASTIC)).toBe(64);
    // At the largest block, probes that keep hitting change nothing: they
    // back off (every 8th miss throughout would be 512 probes, a MINOR fault each).
    expect(isolatedMisses(chunks, 4096, true)).toBeLessThan(128);
    expect(isolatedMissPages(chunks, 7, ELASTIC)).toBe(64);
  });

  it('probes out are bounded: hits decided at their touch do not outvote waste still in its window', () => {
    // Uniform random access: one sentinel in five is touched soon, by chance;
    // the others are decided waste only when their window has passed.
    const chunks = chunkTable();
    let waiting = 0;
    let probes = 0;
    for (let miss = 0; miss < 1000; miss++) {
      if (!isDensityProbeDue(chunks, 7, 8)) continue;
      densityProbePlaced(chunks, 8);
      if (probes++ % 5 === 0) recordProbe(chunks, 8, true, true);
      else waiting++;
    }
    // Two verdicts' worth of probes out, then none until they are decided:
    // four hits, no verdict yet (unbounded, the hits alone made one, and
    // grew the block to 16 KiB).
    expect(probes).toBe(16);
    expect(isolatedMissPages(chunks, 7, ELASTIC)).toBe(1);
    for (let i = 0; i < waiting; i++) recordProbe(chunks, 8, false, true);
    // Four hits in eight, then none in eight: the block stays at 4 KiB and probes back off.
    expect(isolatedMissPages(chunks, 7, ELASTIC)).toBe(1);
    expect(isolatedMisses(chunks, 1024, false)).toBeLessThanOrEqual(1024 / 16);
  });
});
