// The pager over verbs: a region whose memory node serves RDMA (`dmem serve
// --transport verbs` in a child process), each pager lane and the reclaimer
// with a queue pair of its own, data checked through eviction and refetch.
// Runs inside the soft-RoCE guest; skips, saying why, anywhere else.
import { describe, expect, it } from 'vitest';
import { createRegion } from '../../dist/index.js';
import { churn, expectEvictedAndRefetched } from '../helpers/churn';
import { spawnServe } from '../helpers/memory-node';
import { findRdma, printSkip } from './rdma';

const MiB = 2 ** 20;
const { target, reason } = findRdma();
printSkip(reason, 'pager over verbs (region churn with checksums)');

describe.skipIf(target === undefined)('a region paged over verbs', () => {
  it.each(['elastic', '4k'])('data survives eviction and refetch at 1/4 local (block %s)', async (block) => {
    const rdma = { device: target!.device, port: target!.port, gidIndex: target!.gidIndex };
    const gid = rdma.gidIndex === undefined ? [] : ['--gid-index', String(rdma.gidIndex)];
    const serve = await spawnServe(['--transport', 'verbs', '--device', rdma.device, ...gid, '--size', String(64 * MiB), '--slab-size', String(16 * MiB)]);
    try {
      const region = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, remote: { host: serve.host, port: serve.port }, lanes: 2, block, rdma });
      try {
        const { bad, bytes } = churn(region, 99, 3);
        expect(bad).toBe(0);
        expect(bytes).toBe(4 * 16 * MiB);
        expectEvictedAndRefetched(region);
      } finally {
        await region.close();
      }
      // Written once, then only read: clean pages come back by MINOR faults,
      // which a pager tracking writes maps write-protected (CONTINUE_MODE_WP,
      // which the guest's 6.1 kernel lacks: the pager must do without). The
      // reads loop over a little more than the local budget, so that pages
      // come back soon after their eviction and earn second chances (a zap,
      // then a MINOR fault): pages read once never do.
      const readMostly = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, remote: { host: serve.host, port: serve.port }, lanes: 2, block, rdma });
      try {
        const words = new Uint32Array(readMostly.view());
        const pages = words.length / 1024;
        for (let p = 0; p < pages; p++) words[p * 1024 + 5] = p * 7 + 1;
        for (let pass = 0; pass < 6; pass++) {
          let bad = 0;
          const loop = pass < 5 ? 1152 : pages; // 4.5 MiB, then everything
          for (let p = 0; p < loop; p++) if (words[p * 1024 + 5] !== p * 7 + 1) bad++;
          expect(bad).toBe(0);
        }
        expect(readMostly.stats().faults.minor).toBeGreaterThan(0);
        expect(readMostly.failure).toBeUndefined();
      } finally {
        await readMostly.close();
      }
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });
});
