// The elastic block policy on real faults: a sequential scan grows the block,
// uniform random access settles at 4 KiB, alternating phases are followed.
import { describe, expect, it } from 'vitest';
import { createRegion, type Region } from '../../dist/index.js';
import { rng } from '../helpers/memory-node';
import { printSkip, uffdSkipReason } from '../helpers/uffd';

const MiB = 2 ** 20;
const skip = uffdSkipReason();
printSkip(skip, 'elastic block tests');

function sequential(region: Region): void {
  const words = new Uint32Array(region.view());
  for (let p = 0; p < words.length / 1024; p++) words[p * 1024 + 5] += 1;
}

function random(region: Region, touches: number, seed: number): void {
  const words = new Uint32Array(region.view());
  const pages = words.length / 1024;
  const next = rng(seed);
  for (let i = 0; i < touches; i++) words[(next() % pages) * 1024 + 5] += 1;
}

/** The block size most chunks use now. */
function dominant(region: Region): string {
  const sizes = region.stats().blockSizes;
  return Object.entries(sizes).sort((a, b) => b[1] - a[1])[0][0];
}

/** Each 2 MiB window of the region in turn, its pages in shuffled order: locality without a stream. */
function shuffledWindows(region: Region, seed: number): number {
  const words = new Uint32Array(region.view());
  const pages = words.length / 1024;
  const window = 512;
  const next = rng(seed);
  const order = Int32Array.from({ length: window }, (_, i) => i);
  for (let w = 0; w < pages; w += window) {
    for (let i = window - 1; i > 0; i--) {
      const j = next() % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const i of order) words[(w + i) * 1024 + 5] += 1;
  }
  return pages;
}

/**
 * A column-blocked walk (a stencil's): for each 2 KiB column segment, its
 * bytes in every row, rows `rowBytes` apart; one word touched per page the
 * segment covers. Returns the segments walked.
 */
function columnWalk(region: Region, rowBytes: number): number {
  const words = new Uint32Array(region.view());
  const rows = Math.floor(words.byteLength / rowBytes);
  const segment = 2048;
  let segments = 0;
  for (let x = 0; x + segment <= rowBytes; x += segment) {
    for (let y = 0; y < rows; y++, segments++) {
      const from = y * rowBytes + x;
      words[from >> 2] += 1;
      words[(from + segment - 4) >> 2] += 1; // the next page, where the segment straddles one
    }
  }
  return segments;
}

describe.skipIf(skip !== undefined)('elastic blocks', () => {
  it('grow where pages near a miss are touched soon after it, in no order (density probes)', async () => {
    const region = await createRegion({ size: 64 * MiB, localBytes: 8 * MiB, lanes: 1, block: 'elastic' });
    try {
      shuffledWindows(region, 3); // first touches: zero-filled, written back at eviction
      const before = region.stats();
      const touched = shuffledWindows(region, 4) + shuffledWindows(region, 5);
      const after = region.stats();
      const missing = after.faults.missing - before.faults.missing;
      console.log(`shuffled 2 MiB windows: ${missing} MISSING faults for ${touched} touches; ${after.prefetchHits - before.prefetchHits} probe hits; blocks ${JSON.stringify(after.blockSizes)}`);
      expect(dominant(region)).not.toBe('4k');
      expect(missing).toBeLessThan(touched / 2);
      expect(region.failure).toBeUndefined();
    } finally {
      await region.close();
    }
  });

  it('stay at 4k under uniform random access with half the footprint local (gups: a neighbour used late is no locality)', async () => {
    // At 50% local a page near a random miss is touched before its eviction
    // more often than not, as any page is; a density block grown on that
    // fetches pages that displace others as likely to be used.
    const region = await createRegion({ size: 32 * MiB, localBytes: 16 * MiB, lanes: 1, block: 'elastic' });
    try {
      sequential(region);
      const before = region.stats();
      const pages = (32 * MiB) / 4096;
      random(region, 4 * pages, 7);
      const after = region.stats();
      const missing = after.faults.missing - before.faults.missing;
      const fetched = after.pagesFetched - before.pagesFetched;
      const used = Object.fromEntries(Object.entries(after.blockSizes).filter(([, n]) => n > 0));
      console.log(`uniform random at 50% local: ${missing} MISSING faults fetched ${fetched} pages; blocks ${JSON.stringify(used)}`);
      expect(used).toEqual({ '4k': 16 });
      expect(fetched).toBeLessThan(1.2 * missing);
      // Settled at 4 KiB, the chunks go on probing, and the probes fetch no
      // page of their own (ghosts): a fetched sentinel is a page more per
      // probe, a frame, and a MINOR fault when touched. (A ghost fetched
      // with another page's block becomes that block's sentinel: a few do.)
      random(region, 2 * pages, 8);
      const later = region.stats();
      const ghosts = later.ghostProbes.placed - after.ghostProbes.placed;
      const sentinels = later.probePages - after.probePages;
      console.log(`then: ${ghosts} density probes fetched nothing (ghosts), ${sentinels} probes left a fetched page unmapped`);
      expect(ghosts).toBeGreaterThan(50);
      expect(sentinels).toBeLessThan(ghosts / 4);
      expect(region.failure).toBeUndefined();
    } finally {
      await region.close();
    }
  });

  it('follow a strided walk by its stride: rows 5.7 pages apart settle at 4k, rows 2.8 pages apart grow the block', async () => {
    // The sequential fill first grows every chunk to 256k. A walk down the
    // rows of one column at a time then skips remote pages between misses:
    // a stride under STREAM_GAP pages is a stream (the pages between are
    // fetched for the columns to come, a fault saved per row); a longer one
    // is not, and a 2-page pair (a segment straddling a page boundary) is no
    // stream either. The old rule let any skip under 4 pages past a
    // multi-page block continue it: a long stride continued big blocks
    // (stencil at 128M fetched twice the 4k block's pages).
    const results: Record<string, { missing: number; fetched: number; dominant: string }> = {};
    for (const [name, rowBytes] of [['long', 23_168], ['short', 11_584]] as const) {
      const region = await createRegion({ size: 32 * MiB, localBytes: 16 * MiB, lanes: 1, block: 'elastic' });
      try {
        sequential(region);
        const before = region.stats();
        const segments = columnWalk(region, rowBytes);
        const after = region.stats();
        const missing = after.faults.missing - before.faults.missing;
        const fetched = after.pagesFetched - before.pagesFetched;
        results[name] = { missing, fetched, dominant: dominant(region) };
        console.log(`column walk, rows ${rowBytes} B apart: ${segments} segments, ${missing} MISSING faults fetched ${fetched} pages; blocks ${JSON.stringify(after.blockSizes)}`);
        expect(region.failure).toBeUndefined();
      } finally {
        await region.close();
      }
    }
    expect(results.long.dominant).toBe('4k');
    expect(results.long.fetched).toBeLessThan(1.3 * results.long.missing);
    expect(results.short.dominant).not.toBe('4k');
    expect(results.short.fetched).toBeGreaterThan(4 * results.short.missing);
  });

  it('grow on a sequential scan, settle at 4k on uniform random access, and follow alternating phases', async () => {
    const region = await createRegion({ size: 64 * MiB, localBytes: 8 * MiB, lanes: 2, block: 'elastic' });
    const phases: string[] = [];
    try {
      sequential(region);
      phases.push(`seq:${dominant(region)}`);
      random(region, 60_000, 1);
      phases.push(`random:${dominant(region)}`);
      sequential(region);
      phases.push(`seq:${dominant(region)}`);
      random(region, 60_000, 2);
      phases.push(`random:${dominant(region)}`);
      console.log(`elastic phases: ${phases.join(' -> ')}; final ${JSON.stringify(region.stats().blockSizes)}`);
      expect(phases).toEqual(['seq:256k', 'random:4k', 'seq:256k', 'random:4k']);
      expect(region.failure).toBeUndefined();
    } finally {
      await region.close();
    }
  });
});
