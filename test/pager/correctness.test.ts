// The pager, for real: regions larger than their local budget, real faults,
// a real memory node over tcp and shm, eviction racing writers.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createRegion, MemoryNode } from '../../dist/index.js';
import { churn, expectEvictedAndRefetched } from '../helpers/churn';
import { eventually, killNodeUnderDirtyRegion, spawnServe } from '../helpers/memory-node';
import { printSkip, uffdSkipReason } from '../helpers/uffd';

const MiB = 2 ** 20;
const DIST = path.resolve(__dirname, '../../dist/index.js');
const skip = uffdSkipReason();
printSkip(skip, 'pager tests');

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

describe.skipIf(skip !== undefined)('pager correctness', () => {
  it.each(['shm', 'tcp'] as const)('data survives eviction and refetch over %s: checksums over >= 1 GiB of churn at 1/4 local', async (transport) => {
    const node = await MemoryNode.start({ listen: '127.0.0.1:0', size: 256 * MiB, slabSize: 64 * MiB, transport });
    const region = await createRegion({ size: 256 * MiB, localBytes: 64 * MiB, remote: { host: '127.0.0.1', port: node.address.port }, lanes: 2 });
    try {
      const { bad, bytes } = churn(region, 42, 4);
      expect(bad).toBe(0);
      expect(bytes).toBeGreaterThanOrEqual(2 ** 30);
      expectEvictedAndRefetched(region);
    } finally {
      await region.close();
      await node.close();
    }
  });

  it.each(['elastic', '4k', '256k'])('several workers write concurrently while eviction races them: no lost update (block %s)', async (block) => {
    const region = await createRegion({ size: 32 * MiB, localBytes: 4 * MiB, lanes: 2, block });
    try {
      const workers = 3;
      const rounds = 6;
      const results = await Promise.all(
        Array.from({ length: workers }, (_, index) =>
          new Promise<{ pages: number }>((resolve, reject) => {
            const w = new Worker(path.join(__dirname, '..', 'fixtures', 'region-churn.cjs'), {
              workerData: { dist: DIST, handle: region.handle, index, workers, rounds, seed: 7 + index },
            });
            w.once('message', resolve);
            w.once('error', reject);
          }),
        ),
      );
      const words = new Uint32Array(region.view());
      const pages = words.length / 1024;
      let lost = 0;
      for (let p = 0; p < pages; p++) {
        if (words[p * 1024] !== rounds || words[p * 1024 + 1023] !== rounds) lost++;
      }
      expect(results.reduce((n, r) => n + r.pages, 0)).toBe(pages);
      expect(lost).toBe(0);
      expect(region.stats().evictions.dirty).toBeGreaterThan(0);
    } finally {
      await region.close();
    }
  });

  it('settle() restores the reclaimer\'s high watermark, which the reclaimer alone leaves to the next shortage, and keeps the data', async () => {
    // 8 MiB local: 2,048 pages; the reclaimer starts below 128 free and stops at 256 (region.ts).
    const region = await createRegion({ size: 32 * MiB, localBytes: 8 * MiB, lanes: 1, block: '4k' });
    try {
      const words = new Uint32Array(region.view());
      const free = (): number => region.stats().budgetPages - region.stats().localPages;
      const high = region.stats().budgetPages / 8;
      let page = 0;
      let settledAt: number[] = [];
      for (let round = 0; round < 4; round++) {
        // Touch fresh pages until the free budget is under the high watermark (the reclaimer idle above the low one).
        while (free() >= high && page < words.length / 1024) words[page * 1024] = ++page;
        expect(free()).toBeLessThan(high);
        await region.settle();
        settledAt.push(free());
      }
      settledAt = settledAt.filter((f) => f < high);
      expect(settledAt).toEqual([]);
      let bad = 0;
      for (let p = 0; p < page; p++) if (words[p * 1024] !== p + 1) bad++;
      expect(bad).toBe(0);
      expect(region.failure).toBeUndefined();
    } finally {
      await region.close();
    }
  });

  it('never holds more than the local budget: region accounting and the memfd agree', async () => {
    const region = await createRegion({ size: 64 * MiB, localBytes: 8 * MiB, lanes: 2 });
    try {
      const worker = new Worker(path.join(__dirname, '..', 'fixtures', 'region-churn.cjs'), {
        workerData: { dist: DIST, handle: region.handle, index: 0, workers: 1, rounds: 3, seed: 3 },
      });
      const done = new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      let finished = false;
      void done.then(() => (finished = true));
      let maxAllocated = 0;
      let maxLocal = 0;
      let samples = 0;
      while (!finished) {
        maxAllocated = Math.max(maxAllocated, region.allocatedBytes());
        maxLocal = Math.max(maxLocal, region.stats().localPages * 4096);
        samples++;
        await new Promise((r) => setTimeout(r, 2));
      }
      await done;
      expect(samples).toBeGreaterThan(5);
      expect(maxLocal).toBeLessThanOrEqual(8 * MiB);
      expect(maxAllocated).toBeLessThanOrEqual(8 * MiB);
      expect(maxAllocated).toBeGreaterThan(4 * MiB); // the budget was actually used
      expect(region.stats().localPages).toBeLessThanOrEqual(region.stats().budgetPages);
    } finally {
      await region.close();
    }
  });

  it('close() frees everything: workers, descriptors, leases, memory', async () => {
    const node = await MemoryNode.start({ listen: '127.0.0.1:0', size: 128 * MiB, slabSize: 64 * MiB, transport: 'tcp' });
    const fdsBefore = openFds();
    const region = await createRegion({ size: 64 * MiB, localBytes: 16 * MiB, remote: { host: '127.0.0.1', port: node.address.port }, lanes: 2 });
    churn(region, 5, 1);
    expect(node.stats().leases).toBe(1);
    expect(region.allocatedBytes()).toBeGreaterThan(0);
    await region.close();
    await region.close();
    expect(() => region.allocatedBytes()).toThrow(/closed/);
    await eventually(() => node.stats().leases === 0 && node.stats().sessions === 0, 'the leases are released');
    await eventually(() => openFds() <= fdsBefore, `descriptors return to ${fdsBefore} (now ${openFds()})`);
    await node.close();
  });

  it('rejects impossible options before starting anything', async () => {
    await expect(createRegion({ size: '1G', localBytes: '1K' })).rejects.toThrow(/localBytes: must be at least/);
    await expect(createRegion({ size: '1G', block: '3k' })).rejects.toThrow(/block: expected 'elastic'/);
    await expect(createRegion({ size: 'big' })).rejects.toThrow(/size: expected a size/);
    await expect(createRegion({ size: '1G', lanes: 0 })).rejects.toThrow(/lanes/);
  });

  it('this thread may block its event loop for longer than the lease timeout while it touches the region: the session lives on', async () => {
    const serve = await spawnServe(['--size', '64M', '--slab-size', '16M', '--lease-timeout', '0.3']);
    try {
      const region = await createRegion({ size: 16 * MiB, localBytes: 2 * MiB, remote: { host: serve.host, port: serve.port }, lanes: 2 });
      try {
        // Five lease timeouts without once returning to the event loop, all
        // the while evicting and refetching: heartbeats must come from elsewhere.
        const until = Date.now() + 1500;
        let passes = 0;
        let bad = 0;
        const words = new Uint32Array(region.view());
        while (Date.now() < until || passes < 2) {
          for (let p = 0; p < words.length / 1024; p++) {
            if (passes > 0 && words[p * 1024 + 7] !== ((p * 31 + passes - 1) >>> 0)) bad++;
            words[p * 1024 + 7] = (p * 31 + passes) >>> 0;
          }
          passes++;
        }
        expect(bad).toBe(0);
        expect(region.stats().evictions.dirty).toBeGreaterThan(0);
        expect(region.failure).toBeUndefined();
        await eventually(() => serve.lines.some((l) => /leased slab/.test(l)), 'the lease in the log');
        expect(serve.lines.join('\n')).not.toMatch(/expired/);
      } finally {
        await region.close();
      }
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });

  it('a failure is told at once and in words, without an event-loop turn: the reclaimer cannot write back to a dead node', async () => {
    const serve = await spawnServe(['--size', '64M', '--slab-size', '16M']);
    const region = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, remote: { host: serve.host, port: serve.port }, lanes: 1, block: '4k', timeoutMs: 1000 });
    try {
      // The low watermark is 64 pages here.
      await killNodeUnderDirtyRegion(region, serve);
      // Synchronously: the workers' messages cannot arrive meanwhile.
      const until = Date.now() + 20_000;
      while (region.failure === undefined && Date.now() < until);
      expect(region.failure?.message).toMatch(/the reclaimer stopped: |writing evicted pages back: /);
      expect(region.failure?.message).toMatch(/region data may be lost/);
    } finally {
      await region.close();
    }
  });

  it('the memory node dies: a thread faulting on a remote page is released with SIGBUS, not left hanging', async () => {
    const serve = await spawnServe(['--size', '128M', '--slab-size', '64M']);
    // The child fills 32 MiB through an 8 MiB budget, so most pages live
    // remotely; then it says so and, when told, reads them all back.
    const script = `
      const d = require(${JSON.stringify(DIST)});
      (async () => {
        const region = await d.createRegion({ size: '32M', localBytes: '8M', lanes: 1, remote: { host: '127.0.0.1', port: ${serve.port} }, timeoutMs: 1000 });
        const words = new Uint32Array(region.view());
        for (let p = 0; p < words.length / 1024; p++) words[p * 1024] = p + 1;
        process.stdout.write('filled\\n');
        process.stdin.once('data', () => {
          let sum = 0;
          for (let p = 0; p < words.length / 1024; p++) sum += words[p * 1024];
          process.stdout.write('read ' + sum + '\\n');
        });
      })();`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => b.toString().includes('filled') && resolve()));
    serve.child.kill('SIGKILL');
    await serve.exited;
    child.stdin.write('go\n');
    const outcome = await exited; // bounded by the test timeout: a hang fails the test
    expect(outcome.signal).toBe('SIGBUS');
  });
});
