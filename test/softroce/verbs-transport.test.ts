// The verbs transport for real: a memory node serving over RDMA in a child
// process (`dmem serve --transport verbs`), and this process as its client,
// through the same RemoteSession / DataConnection calls as tcp, shm and file.
// Runs inside the soft-RoCE guest (scripts/softroce/run-suite.sh); skips,
// saying why, anywhere without an RDMA device.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataConnection,
  OpKind,
  RemoteSession,
  StagingBuffer,
  WorkCompletionError,
  completionError,
  opBuffer,
  setOp,
  type Lease,
} from '../../dist/index.js';
import { runOps } from '../helpers/data-ops';
import { rng, sha256, spawnServe, type ServeProcess } from '../helpers/memory-node';
import { findRdma, printSkip } from './rdma';

const SLAB = 4 * 2 ** 20;
const STAGING = 8 * 2 ** 20;
const { target, reason } = findRdma();
printSkip(reason, 'verbs transport tests (memory node over RDMA, WRITE/READ checksums, failed completions)');


/** One op on a fresh lane; its one completion. */
async function oneOp(session: RemoteSession, staging: StagingBuffer, kind: OpKind, address: number, length: number, key: number) {
  const conn = DataConnection.open(await session.prepareLane({ maxInflight: 4 }), staging);
  const ops = opBuffer(1);
  setOp(ops, 0, kind, 42, 0, address, length, key);
  try {
    const [done] = runOps(conn, ops, 1, 30);
    return { done, conn };
  } catch (error) {
    conn.close();
    throw error;
  }
}

describe.skipIf(target === undefined)('verbs transport on a real RDMA device', () => {
  const rdma = { device: target?.device, port: target?.port, gidIndex: target?.gidIndex };
  let serve: ServeProcess;
  let session: RemoteSession;
  let leases: Lease[];
  let staging: StagingBuffer;

  beforeAll(async () => {
    const gid = rdma.gidIndex === undefined ? [] : ['--gid-index', String(rdma.gidIndex)];
    serve = await spawnServe(['--transport', 'verbs', '--device', rdma.device!, ...gid, '--size', String(4 * SLAB), '--slab-size', String(SLAB)]);
    session = await RemoteSession.open({ host: serve.host, port: serve.port, client: 'softroce transport test', rdma });
    leases = [await session.lease(), await session.lease()];
    staging = new StagingBuffer(STAGING);
  });

  afterAll(async () => {
    await session?.close();
    if (serve !== undefined && serve.child.exitCode === null) serve.child.kill('SIGKILL');
  });

  it('serves over verbs: the lease key is an rkey, the address the slab\'s real address', () => {
    expect(serve.lines.join('\n')).toMatch(new RegExp(`transport verbs on ${rdma.device} port 1 \\(Ethernet`));
    expect(session.transport).toBe('verbs');
    expect(session.rdma).toMatchObject({ device: rdma.device, linkLayer: 'Ethernet' });
    expect(session.rdma!.gid).toMatch(/^0000:0000:0000:0000:0000:ffff:[0-9a-f]{4}:[0-9a-f]{4}$/);
    if (rdma.gidIndex !== undefined) expect(session.rdma!.gidIndex).toBe(rdma.gidIndex);
    const base = session.handle.addressBase;
    expect(leases.map((l) => l.address)).toEqual([base, base + SLAB]);
    expect(leases[0].key).not.toBe(leases[1].key);
  });

  it('random data written with RDMA WRITE reads back with RDMA READ, checksums matching, many in flight', async () => {
    const conn = DataConnection.open(await session.prepareLane({ maxInflight: 64 }), staging);
    try {
      const next = rng(0x5eed);
      const local = new Uint8Array(staging.view());
      const words = new DataView(local.buffer);
      for (let i = 0; i < STAGING / 2; i += 4) words.setUint32(i, next(), true);
      // Distinct 64 KiB windows of both slabs in random order: no write overlaps another.
      const windows = Array.from({ length: (2 * SLAB) / 65536 }, (_, i) => i).sort(() => (next() % 2 ? 1 : -1));
      const count = windows.length;
      const writes = opBuffer(count);
      const reads = opBuffer(count);
      const plan: Array<{ src: number; dst: number; length: number }> = [];
      for (let i = 0; i < count; i++) {
        const length = 4096 * (1 + (next() % 16));
        const lease = leases[Math.floor((windows[i] * 65536) / SLAB)];
        const address = lease.address + ((windows[i] * 65536) % SLAB);
        const src = 4096 * (next() % (STAGING / 2 / 4096 - 16));
        const dst = STAGING / 2 + (i % 32) * 65536;
        plan.push({ src, dst, length });
        setOp(writes, i, OpKind.write, i, src, address, length, lease.key);
        setOp(reads, i, OpKind.read, i, dst, address, length, lease.key);
      }
      const written = runOps(conn, writes, count, 30);
      expect(written.filter((d) => d.status !== 0)).toEqual([]);
      expect(written.map((d) => d.tag).sort((a, b) => a - b)).toEqual(plan.map((_, i) => i));
      for (let b = 0; b < count; b += 32) {
        for (const d of runOps(conn, reads.subarray(b * 6), Math.min(32, count - b), 30)) {
          expect(d.status).toBe(0);
          const p = plan[d.tag];
          expect(d.bytes).toBe(p.length);
          expect(sha256(local.subarray(p.dst, p.dst + p.length))).toBe(sha256(local.subarray(p.src, p.src + p.length)));
        }
      }
    } finally {
      conn.close();
    }
  });

  it('a bad rkey fails with IBV_WC_REM_ACCESS_ERR, and the lane refuses further work instead of hanging', async () => {
    const badKey = (leases[0].key ^ 0x00ff0000) >>> 0;
    const { done, conn } = await oneOp(session, staging, OpKind.read, leases[0].address, 4096, badKey);
    try {
      expect(done.tag).toBe(42);
      const error = completionError('READ', done.status, leases[0].address, 4096, session.handle);
      expect(error).toBeInstanceOf(WorkCompletionError);
      expect(error).toMatchObject({ code: 'ERR_DMEM_WORK_COMPLETION', status: 'IBV_WC_REM_ACCESS_ERR', slab: 0 });
      expect(error.message).toMatch(/READ of 4096 bytes at 0x[0-9a-f]+ \(slab 0\) failed: IBV_WC_REM_ACCESS_ERR \(remote access error\)/);
      const ops = opBuffer(1);
      setOp(ops, 0, OpKind.read, 1, 0, leases[0].address, 4096, leases[0].key);
      expect(() => conn.post(ops, 1)).toThrow(/ECONNABORTED.*prepare a new lane/);
    } finally {
      conn.close();
    }
  });

  it('an address outside the slab its key names fails with IBV_WC_REM_ACCESS_ERR', async () => {
    // Runs past the end of slab 1: the key is right, the range is not.
    const address = leases[1].address + SLAB - 1024;
    const { done, conn } = await oneOp(session, staging, OpKind.write, address, 4096, leases[1].key);
    conn.close();
    const error = completionError('WRITE', done.status, address, 4096, session.handle);
    expect(error).toMatchObject({ name: 'WorkCompletionError', status: 'IBV_WC_REM_ACCESS_ERR' });
    // ...and slab 1's memory under slab 0's key: the MR covers slab 0 only.
    const other = await oneOp(session, staging, OpKind.read, leases[1].address, 4096, leases[0].key);
    other.conn.close();
    expect(completionError('READ', other.done.status, leases[1].address, 4096, session.handle).status).toBe('IBV_WC_REM_ACCESS_ERR');
  });

  it('a released slab\'s rkey is dead at once, and the slab reads as zeros when leased again', async () => {
    const lease = await session.lease();
    const local = new Uint8Array(staging.view());
    local.fill(0xab, 0, 65536);
    const w = await oneOp(session, staging, OpKind.write, lease.address, 65536, lease.key);
    w.conn.close();
    expect(w.done.status).toBe(0);
    await session.release(lease.slabId);
    const stale = await oneOp(session, staging, OpKind.read, lease.address, 65536, lease.key);
    stale.conn.close();
    expect(completionError('READ', stale.done.status, lease.address, 65536, session.handle).status).toBe('IBV_WC_REM_ACCESS_ERR');
    const again = await session.lease();
    expect(again.slabId).toBe(lease.slabId);
    const r = await oneOp(session, staging, OpKind.read, again.address, 65536, again.key);
    r.conn.close();
    expect(r.done.status).toBe(0);
    expect(local.subarray(0, 65536).every((b) => b === 0)).toBe(true);
    await session.release(again.slabId);
  });

  it('a lane prepared here runs in a worker thread: one QP per lane, staging registered there', async () => {
    const lane = await session.prepareLane({ maxInflight: 16 });
    const worker = new Worker(path.join(__dirname, 'fixtures', 'lane-worker.cjs'), {
      workerData: { lane, address: leases[0].address + 2 * 2 ** 20, key: leases[0].key, bytes: 256 * 1024, seed: 7 },
    });
    const result = await new Promise<{ written: string; readBack: string; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(result.error).toBeUndefined();
    expect(result.readBack).toBe(result.written);
    // And this thread sees the worker's bytes through a lane of its own.
    const r = await oneOp(session, staging, OpKind.read, leases[0].address + 2 * 2 ** 20, 256 * 1024, leases[0].key);
    r.conn.close();
    expect(r.done.status).toBe(0);
    expect(sha256(new Uint8Array(staging.view(), 0, 256 * 1024))).toBe(result.written);
  });

  it('a verbs lane must be prepared, and each prepared lane opens once', async () => {
    expect(() => DataConnection.open(session.handle, staging)).toThrow(/prepareLane/);
    const lane = await session.prepareLane({ maxInflight: 4 });
    const conn = DataConnection.open(lane, staging);
    expect(() => DataConnection.open(lane, staging)).toThrow(/already open/);
    expect(() => DataConnection.open({ ...lane }, staging, 8)).toThrow(/prepared for 4/);
    conn.close();
    conn.close(); // twice is fine
  });

  it('both sides tear down cleanly: bye frees the session\'s QPs and slabs, SIGTERM stops the node with status 0', async () => {
    const probe = await RemoteSession.open({ host: serve.host, port: serve.port, client: 'softroce probe', rdma });
    const before = (await probe.stats()) as { backend: { dataConnections: number }; leases: number };
    expect(before.leases).toBeGreaterThanOrEqual(2);
    await session.close();
    await session.close(); // safe twice
    const after = (await probe.stats()) as { backend: { dataConnections: number }; leases: number };
    expect(after.leases).toBe(0);
    expect(after.backend.dataConnections).toBe(0);
    await probe.close();
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    const log = serve.lines.join('\n');
    expect(log).toMatch(/SIGTERM: shutting down/);
    expect(log).toMatch(/stopped/);
    expect(log).not.toMatch(/[A-Za-z]*Error: |Segmentation fault|Aborted|core dumped/);
  });
});
