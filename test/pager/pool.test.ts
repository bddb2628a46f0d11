// PagerPool: regions created one after another take their lanes and
// reclaimer from a pool and give them back at close, with their data intact.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPagerPool, createRegion } from '../../dist/index.js';
import { churn, expectEvictedAndRefetched } from '../helpers/churn';
import { eventually, killNodeUnderDirtyRegion, spawnServe } from '../helpers/memory-node';
import { printSkip, uffdSkipReason } from '../helpers/uffd';

const MiB = 2 ** 20;
const DIST = path.resolve(__dirname, '../../dist/index.js');
const skip = uffdSkipReason();
printSkip(skip, 'pager pool tests');

describe.skipIf(skip !== undefined)('pager pool', () => {
  it('regions one after another serve on the same workers, and keep their data', async () => {
    const pool = createPagerPool();
    try {
      for (const [round, block] of ['4k', 'elastic', '64k', 'elastic'].entries()) {
        const region = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, lanes: 2, block, pool });
        try {
          expect(churn(region, 7 + round, 2).bad).toBe(0);
          expectEvictedAndRefetched(region);
        } finally {
          await region.close();
        }
        // Two lanes and a reclaimer, started for the first region only.
        expect(pool.stats()).toEqual({ idle: 3, created: 3 });
      }
    } finally {
      await pool.close();
    }
    expect(pool.stats().idle).toBe(0);
  });

  it('regions open at once get workers of their own', async () => {
    const pool = createPagerPool();
    try {
      const a = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, lanes: 2, pool });
      const b = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, lanes: 1, block: '16k', pool });
      expect(pool.stats()).toEqual({ idle: 0, created: 5 });
      expect(churn(a, 1, 1).bad).toBe(0);
      expect(churn(b, 2, 1).bad).toBe(0);
      await Promise.all([a.close(), b.close()]);
      expect(pool.stats()).toEqual({ idle: 5, created: 5 });
      // The next region takes idle workers and starts none.
      const c = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, lanes: 4, pool });
      expect(pool.stats()).toEqual({ idle: 0, created: 5 });
      expect(churn(c, 3, 1).bad).toBe(0);
      await c.close();
    } finally {
      await pool.close();
    }
  });

  it('a pool closed while its region runs: the region serves on, and its workers end with it', async () => {
    const pool = createPagerPool();
    const region = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, lanes: 2, pool });
    try {
      await pool.close();
      await pool.close(); // twice is safe
      expect(churn(region, 5, 2).bad).toBe(0);
      expectEvictedAndRefetched(region);
    } finally {
      await region.close();
    }
    expect(pool.stats()).toEqual({ idle: 0, created: 3 });
  });

  it('a region whose memory node died gives none of its workers back', async () => {
    const serve = await spawnServe(['--size', '64M', '--slab-size', '16M']);
    const pool = createPagerPool();
    try {
      const region = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, remote: { host: serve.host, port: serve.port }, lanes: 1, block: '4k', timeoutMs: 1000, pool });
      try {
        await killNodeUnderDirtyRegion(region, serve);
        await eventually(() => region.failure !== undefined, 'the reclaimer failing');
      } finally {
        await region.close();
      }
      expect(pool.stats()).toEqual({ idle: 0, created: 2 });
    } finally {
      await pool.close();
    }
  });

  it('refuses a closed pool or something else, naming the fix', async () => {
    const pool = createPagerPool();
    await pool.close();
    await expect(createRegion({ size: 16 * MiB, pool })).rejects.toMatchObject({
      code: 'ERR_DMEM_INVALID_OPTION',
      message: expect.stringMatching(/^pool: the pool is closed: create a new one with createPagerPool\(\)/),
    });
    await expect(createRegion({ size: 16 * MiB, pool: {} as never })).rejects.toMatchObject({
      code: 'ERR_DMEM_INVALID_OPTION',
      message: expect.stringMatching(/^pool: expected a PagerPool from createPagerPool\(\)/),
    });
  });

  it('idle workers do not keep the process alive', async () => {
    // A pool left open, its workers idle: the process must still end by itself.
    const script = `
      const d = require(${JSON.stringify(DIST)});
      (async () => {
        const pool = d.createPagerPool();
        const region = await d.createRegion({ size: '8M', localBytes: '2M', lanes: 2, pool });
        new Uint32Array(region.view()).fill(1);
        await region.close();
        process.stdout.write('idle ' + pool.stats().idle + '\\n');
      })();`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    // Bounded by the test timeout: a process kept alive fails the test.
    expect(out).toBe('idle 3\n');
    expect(outcome).toEqual({ code: 0, signal: null });
  });
});
