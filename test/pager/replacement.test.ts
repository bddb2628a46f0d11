// Replacement on real faults: CLOCK whose reference bits are emulated by
// zaps, with pages referenced at install only when they come back soon after
// their eviction (lib/paging/refault.ts).
import { describe, expect, it } from 'vitest';
import { createRegion, type Region } from '../../dist/index.js';
import { rng } from '../helpers/memory-node';
import { printSkip, uffdSkipReason } from '../helpers/uffd';

const MiB = 2 ** 20;
const WORDS_PER_PAGE = 1024;
const skip = uffdSkipReason();
printSkip(skip, 'replacement tests');

/** Rounds of: a slice of a cyclic scan over the cold pages, then every hot page. */
function hotAndScan(region: Region, hotPages: number, slicePages: number, rounds: number): number {
  const words = new Uint32Array(region.view());
  const pages = words.length / WORDS_PER_PAGE;
  let cold = 0;
  let bad = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < slicePages; i++) {
      const page = hotPages + (cold++ % (pages - hotPages));
      words[page * WORDS_PER_PAGE] += 1;
    }
    for (let page = 0; page < hotPages; page++) {
      words[page * WORDS_PER_PAGE] += 1;
      if (words[page * WORDS_PER_PAGE] !== r + 1) bad++;
    }
  }
  return bad;
}

describe.skipIf(skip !== undefined)('replacement', () => {
  it('a page touched once is never zapped for its reference bit: a shuffled pass after a fill raises (almost) no MINOR fault', async () => {
    const region = await createRegion({ size: 16 * MiB, localBytes: 8 * MiB, lanes: 1, block: '4k' });
    try {
      const words = new Uint32Array(region.view());
      const pages = words.length / WORDS_PER_PAGE;
      for (let p = 0; p < pages; p++) words[p * WORDS_PER_PAGE + 1] = p;
      const order = Int32Array.from({ length: pages }, (_, i) => i);
      const next = rng(5);
      for (let i = pages - 1; i > 0; i--) {
        const j = next() % (i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      let bad = 0;
      for (const p of order) if (words[p * WORDS_PER_PAGE + 1] !== p) bad++;
      const s = region.stats();
      console.log(`shuffled pass after a fill: ${JSON.stringify(s.faults)}, ${s.recentRefaults} recent refaults, ${s.zappedPages} second chances`);
      expect(bad).toBe(0);
      expect(s.evictions.clean + s.evictions.dirty).toBeGreaterThan(pages / 2);
      // Not zero: the hand may zap a refetched (referenced) page between its
      // install and the faulting thread's retry, which then raises MINOR. Textbook
      // CLOCK (every fetched page referenced) raised one per 12 pages here.
      expect(s.faults.minor).toBeLessThan(pages / 100);
    } finally {
      await region.close();
    }
  });

  it('a hot set that comes back soon after eviction is kept: CLOCK refetches it far less often than FIFO', async () => {
    const missing: Record<string, number> = {};
    for (const replacement of ['clock', 'fifo'] as const) {
      const region = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, lanes: 1, block: '4k', replacement });
      try {
        const rounds = 64;
        const slice = 512;
        expect(hotAndScan(region, 64, slice, rounds)).toBe(0);
        const s = region.stats();
        // Every cold touch misses (each comes back after 4x the budget); the rest are the hot pages'.
        missing[replacement] = s.faults.missing - rounds * slice;
        console.log(`hot set and scan, ${replacement}: hot-page misses ${missing[replacement]}, ${JSON.stringify(s.faults)}, ${s.recentRefaults} recent refaults`);
        if (replacement === 'clock') expect(s.recentRefaults).toBeGreaterThan(0);
      } finally {
        await region.close();
      }
    }
    expect(missing.clock).toBeLessThan(missing.fifo / 2);
  });

  it('gives no second chance where a refetch brings a whole block: refetching 16 pages costs one fault, keeping them one MINOR fault each per turn', async () => {
    const region = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, lanes: 1, block: '64k' });
    try {
      expect(hotAndScan(region, 64, 512, 24)).toBe(0);
      const s = region.stats();
      console.log(`hot set and scan, 64k: ${JSON.stringify(s.faults)}, ${s.recentRefaults} recent refaults, ${s.zappedPages} second chances`);
      expect(s.recentRefaults).toBeGreaterThan(0); // referenced pages were there to spare
      expect(s.zappedPages).toBe(0);
    } finally {
      await region.close();
    }
  });

  it('a block fetched over pages already local ages with them: the hand passes it as one run (one zap call), not page by page', async () => {
    // Scattered single-page misses leave every fourth page of the first half
    // local; a sequential pass then fetches large blocks around them. Had
    // only the fetched pages been spared at the hand's next pass, every three
    // of them would sit between two victims, and cost a zap call.
    const region = await createRegion({ size: 16 * MiB, localBytes: 8 * MiB, lanes: 1, block: 'elastic' });
    try {
      const words = new Uint32Array(region.view());
      const pages = words.length / WORDS_PER_PAGE;
      const half = pages / 2;
      for (let p = half; p < pages; p++) words[p * WORDS_PER_PAGE] = p; // the second half, then evicted
      for (let p = 0; p < half; p += 4) words[p * WORDS_PER_PAGE] = p; // isolated misses
      for (let p = 0; p < half; p++) words[p * WORDS_PER_PAGE] = p; // a stream
      const before = region.stats();
      let bad = 0;
      for (let p = half; p < pages; p++) if (words[p * WORDS_PER_PAGE] !== p) bad++; // the hand passes the first half
      for (let p = 0; p < half; p++) if (words[p * WORDS_PER_PAGE] !== p) bad++;
      const after = region.stats();
      const zapCalls = after.zapCalls - before.zapCalls;
      console.log(`block over local pages: ${zapCalls} zap calls for ${after.evictions.clean + after.evictions.dirty - before.evictions.clean - before.evictions.dirty} evictions; blocks ${JSON.stringify(after.blockSizes)}`);
      expect(bad).toBe(0);
      expect(zapCalls).toBeLessThan(half / 16);
      expect(region.failure).toBeUndefined();
    } finally {
      await region.close();
    }
  });
});
