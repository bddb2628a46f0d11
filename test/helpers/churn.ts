// Churn through a region: every page written with a seeded pattern, then
// checked and rewritten, pass after pass, so that data must survive eviction
// and refetch.
import { expect } from 'vitest';
import type { Region } from '../../dist/index.js';
import { rng } from './memory-node';

/** Fills every page with a seeded pattern (two words per page), then checks it `passes` times. */
export function churn(region: Region, seed: number, passes: number): { bad: number; bytes: number } {
  const words = new Uint32Array(region.view());
  const pages = words.length / 1024;
  let bad = 0;
  let bytes = 0;
  for (let pass = 0; pass <= passes; pass++) {
    const next = rng(seed + pass);
    const previous = rng(seed + pass - 1);
    for (let p = 0; p < pages; p++) {
      const value = next();
      const before = previous();
      if (pass > 0 && (words[p * 1024 + 3] !== before || words[p * 1024 + 1021] !== (before ^ p) >>> 0)) bad++;
      words[p * 1024 + 3] = value;
      words[p * 1024 + 1021] = value ^ p;
    }
    bytes += words.byteLength;
  }
  return { bad, bytes };
}

/** After a churn: pages really went to the memory node and came back, and no lane failed. */
export function expectEvictedAndRefetched(region: Region): void {
  const s = region.stats();
  expect(s.evictions.dirty).toBeGreaterThan(0);
  expect(s.pagesFetched).toBeGreaterThan(0);
  expect(region.failure).toBeUndefined();
}
