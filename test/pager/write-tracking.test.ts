// Write tracking on real faults: blocks installed by a read are
// write-protected; in a chunk that is mostly written, the first write to a
// block unprotects the rest of it, and no write is lost to eviction.
import { describe, expect, it } from 'vitest';
import { createRegion } from '../../dist/index.js';
import { printSkip, uffdSkipReason } from '../helpers/uffd';

const MiB = 2 ** 20;
const WORDS_PER_PAGE = 1024;
const CHUNK_PAGES = 512;
const skip = uffdSkipReason();
printSkip(skip, 'write-tracking tests');

describe.skipIf(skip !== undefined)('write tracking', () => {
  it('writes walking forward over pages installed by reads take a WP fault per 64 pages or so, not one per page', async () => {
    const region = await createRegion({ size: 32 * MiB, localBytes: 16 * MiB, lanes: 1, block: '4k' });
    try {
      const words = new Uint32Array(region.view());
      const pages = 1024; // 4 MiB: stays resident
      let sum = 0;
      for (let p = 0; p < pages; p++) sum += words[p * WORDS_PER_PAGE + 3]; // zero-filled, write-protected
      const before = region.stats();
      for (let p = 0; p < pages; p++) words[p * WORDS_PER_PAGE + 3] = p + 1;
      const wp = region.stats().faults.wp - before.faults.wp;
      console.log(`walking writes over ${pages} read pages: ${wp} WP faults`);
      let bad = sum;
      for (let p = 0; p < pages; p++) if (words[p * WORDS_PER_PAGE + 3] !== p + 1) bad++;
      expect(bad).toBe(0);
      expect(wp).toBeLessThan(pages / 16);
    } finally {
      await region.close();
    }
  });

  it.each(['64k', 'elastic'])('a read-modify-write pass takes a WP fault per chunk or so, not one per page, and loses no write (block %s)', async (block) => {
    const region = await createRegion({ size: 32 * MiB, localBytes: 16 * MiB, lanes: 1, block });
    try {
      const words = new Uint32Array(region.view());
      const pages = words.length / WORDS_PER_PAGE;
      const chunks = pages / CHUNK_PAGES;
      for (let p = 0; p < pages; p++) words[p * WORDS_PER_PAGE + 1] = p;
      const before = region.stats();
      for (let pass = 1; pass <= 2; pass++) {
        for (let p = 0; p < pages; p++) words[p * WORDS_PER_PAGE + 1] += 1; // a read fault, then a write
      }
      const after = region.stats();
      let bad = 0;
      for (let p = 0; p < pages; p++) if (words[p * WORDS_PER_PAGE + 1] !== p + 2) bad++;
      const wp = after.faults.wp - before.faults.wp;
      console.log(`read-modify-write, ${block}: ${wp} WP faults over 2 passes of ${chunks} chunks; ${after.evictions.dirty - before.evictions.dirty} dirty evictions`);
      expect(bad).toBe(0);
      expect(after.evictions.dirty - before.evictions.dirty).toBeGreaterThan(pages);
      // Unprotecting only the written page took 16 (64k) to 64 (elastic, 256k) per chunk and pass.
      expect(wp).toBeLessThan(2 * 4 * chunks);
    } finally {
      await region.close();
    }
  });
});
