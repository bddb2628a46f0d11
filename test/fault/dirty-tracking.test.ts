// WP_ASYNC + PAGEMAP_SCAN: the kernel tracks writes, a scan reports them.
import { afterEach, describe, expect, it } from 'vitest';
import { PageCategory, UffdRegion, uffdAccess } from '../../dist/index.js';
import { PAGE, Toucher, printSkip, serveFaults, uffdSkipReason } from '../helpers/uffd';

function skipReason(): string | undefined {
  const base = uffdSkipReason();
  if (base !== undefined) return base;
  const f = uffdAccess().features;
  if (!f.wpAsync) return 'the kernel lacks UFFD_FEATURE_WP_ASYNC (Linux >= 6.7)';
  if (!f.pagemapScan) return 'the kernel lacks PAGEMAP_SCAN (Linux >= 6.7)';
  return undefined;
}
const skip = skipReason();
printSkip(skip, 'WP_ASYNC dirty tracking');

describe.skipIf(skip !== undefined)('dirty tracking with WP_ASYNC and PAGEMAP_SCAN', () => {
  let region: UffdRegion | undefined;
  afterEach(() => region?.close());

  it('reports exactly the pages written since they were protected, and re-arms', async () => {
    region = UffdRegion.create({ size: 32 * PAGE, writeProtect: 'async' });
    const r = region;
    expect(r.writeProtectMode).toBe('async');
    const block = new Uint32Array(8 * (PAGE / 4)).fill(1);
    expect(r.copy(0, block, 0, block.byteLength, true)).toBe(8);
    const toucher = new Toucher(r, [[
      { op: 'write', page: 2, value: 20 },
      { op: 'write', page: 5, value: 50 },
      { op: 'read', page: 6 },
    ]]);
    toucher.release(0);
    const events = serveFaults(r, () => toucher.completed() >= 1, () => undefined);
    await toucher.exited;
    expect(events).toEqual([]); // WP_ASYNC: the kernel resolved the WP faults itself
    const out = new Float64Array(3 * 16);
    const n = r.pagemapScan(0, 8 * PAGE, out, { mask: PageCategory.written, returnMask: PageCategory.written, writeProtectMatching: true });
    const written = Array.from({ length: n }, (_, i) => [out[i * 3] / PAGE, out[i * 3 + 1] / PAGE]);
    expect(written).toEqual([[2, 3], [5, 6]]);
    // The scan write-protected them again: a second scan finds nothing.
    expect(r.pagemapScan(0, 8 * PAGE, out, { mask: PageCategory.written, returnMask: PageCategory.written })).toBe(0);
    expect(Array.from(new Uint32Array(r.view(2 * PAGE, PAGE)).subarray(0, 1))).toEqual([20]);
  });
});
