// The one-sided data path over tcp, shm and file, against a real in-process
// memory node: integrity, many in flight, and refused operations.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataConnection,
  MemoryNode,
  OpKind,
  RemoteSession,
  StagingBuffer,
  COMPLETION_STATUS,
  completionBuffer,
  completionError,
  opBuffer,
  setOp,
  type Lease,
} from '../../dist/index.js';
import { runOps } from '../helpers/data-ops';
import { rng, sha256 } from '../helpers/memory-node';

const SLAB = 4 * 2 ** 20;
const STAGING = 8 * 2 ** 20;
const DIST = path.resolve(__dirname, '../../dist/index.js');


describe.each(['tcp', 'shm', 'file'] as const)('%s transport', (transport) => {
  let node: MemoryNode;
  let session: RemoteSession;
  let leases: Lease[];
  let staging: StagingBuffer;
  let conn: DataConnection;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmem-transport-'));
    node = await MemoryNode.start({
      listen: '127.0.0.1:0',
      size: 4 * SLAB,
      slabSize: SLAB,
      transport,
      file: transport === 'file' ? path.join(dir, 'pool') : undefined,
    });
    session = await RemoteSession.open({ host: node.address.host, port: node.address.port, client: `test-${transport}` });
    leases = [await session.lease(), await session.lease()];
    staging = new StagingBuffer(STAGING);
    conn = DataConnection.open(session.handle, staging, 64);
  });

  afterAll(async () => {
    conn?.close();
    await session?.close();
    await node?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('random writes read back with matching checksums, many in flight', () => {
    const next = rng(transport.length * 7919);
    const local = new Uint8Array(staging.view());
    // Fill the first half of staging with random bytes: the data to write.
    for (let i = 0; i < STAGING / 2; i += 4) new DataView(local.buffer).setUint32(i, next(), true);
    // Distinct 64 KiB windows of the two slabs, in random order, so no write overlaps another.
    const windows = Array.from({ length: (2 * SLAB) / 65536 }, (_, i) => i).sort(() => (next() % 2 ? 1 : -1));
    const count = windows.length;
    const writes = opBuffer(count);
    const reads = opBuffer(count);
    const plan: Array<{ src: number; dst: number; length: number }> = [];
    for (let i = 0; i < count; i++) {
      const length = 4096 * (1 + (next() % 16));
      const window = windows[i];
      const lease = leases[Math.floor((window * 65536) / SLAB)];
      const address = lease.address + ((window * 65536) % SLAB);
      const src = 4096 * (next() % (STAGING / 2 / 4096 - 16));
      const dst = STAGING / 2 + (i % 32) * 65536;
      plan.push({ src, dst, length });
      setOp(writes, i, OpKind.write, i, src, address, length, lease.key);
      setOp(reads, i, OpKind.read, i, dst, address, length, lease.key);
    }
    const written = runOps(conn, writes, count);
    expect(written.filter((d) => d.status !== 0)).toEqual([]);
    // Read back in batches of 32 (the staging area holds 32 windows at once).
    for (let b = 0; b < count; b += 32) {
      const done = runOps(conn, reads.subarray(b * 6), Math.min(32, count - b));
      for (const d of done) {
        expect(d.status).toBe(0);
        const p = plan[d.tag];
        expect(d.bytes).toBe(p.length);
        expect(sha256(local.subarray(p.dst, p.dst + p.length))).toBe(sha256(local.subarray(p.src, p.src + p.length)));
      }
    }
  });

  it('refuses out-of-range, cross-slab, wrong-key and unleased operations, and keeps serving', async () => {
    const [a] = leases;
    const other = await RemoteSession.open({ host: node.address.host, port: node.address.port, client: 'other' });
    const foreign = await other.lease();
    const ops = opBuffer(6);
    setOp(ops, 0, OpKind.read, 10, 0, a.address - 4096, 4096, a.key); // below the pool
    setOp(ops, 1, OpKind.read, 11, 0, a.address + SLAB - 4096, 8192, a.key); // crosses the slab end
    setOp(ops, 2, OpKind.write, 12, 0, a.address, 4096, a.key ^ 1); // wrong key
    setOp(ops, 3, OpKind.read, 13, 0, foreign.address, 4096, foreign.key); // another session's slab
    setOp(ops, 4, OpKind.read, 14, 0, a.address + 65536 * 16, 4096, a.key); // fine
    setOp(ops, 5, OpKind.read, 15, STAGING, a.address, 4096, a.key); // staging overrun
    const done = runOps(conn, ops, 6).sort((x, y) => x.tag - y.tag);
    const names = done.map((d) => (d.status === 0 ? 'ok' : completionError('READ', d.status, 0, 0, undefined).status));
    expect(names).toEqual(['ERANGE', 'ERANGE', 'EKEYREJECTED', 'EACCES', 'ok', 'EINVAL']);
    const error = completionError('READ', done[1].status, a.address + SLAB - 4096, 8192, session.handle);
    expect(error.message).toMatch(/READ of 8192 bytes at 0x[0-9a-f]+ \(slab \d+\) failed: ERANGE/);
    expect(error.slab).toBe(a.slabId);
    // The other session is unaffected and the node still serves both.
    const otherStaging = new StagingBuffer(65536);
    const otherConn = DataConnection.open(other.handle, otherStaging, 4);
    const one = opBuffer(1);
    setOp(one, 0, OpKind.write, 1, 0, foreign.address, 4096, foreign.key);
    expect(runOps(otherConn, one, 1)[0].status).toBe(0);
    otherConn.close();
    await other.close();
    setOp(one, 0, OpKind.read, 2, 0, a.address, 4096, a.key);
    expect(runOps(conn, one, 1)[0].status).toBe(0);
  });

  it('runLatency times each operation natively and stops at a failed completion with its status', () => {
    const [a] = leases;
    const local = new Uint8Array(staging.view());
    local.fill(0x5a, 0, 4096);
    const op = opBuffer(1);
    const completion = completionBuffer(1);
    setOp(op, 0, OpKind.write, 7, 0, a.address + 8192, 4096, a.key);
    const latency = new Float64Array(50);
    expect(conn.runLatency(op, latency, completion, 5000)).toBe(50);
    expect(Math.min(...latency)).toBeGreaterThan(0);
    expect(completion[COMPLETION_STATUS]).toBe(0);
    // The data really moved: read it back into another part of staging.
    setOp(op, 0, OpKind.read, 8, 65536, a.address + 8192, 4096, a.key);
    expect(conn.runLatency(op, new Float64Array(3), completion, 5000)).toBe(3);
    expect(local.subarray(65536, 65536 + 4096).every((b) => b === 0x5a)).toBe(true);
    // A refused operation ends the run at once, with the status named.
    setOp(op, 0, OpKind.read, 9, 0, a.address, 4096, a.key ^ 1);
    expect(conn.runLatency(op, new Float64Array(10), completion, 5000)).toBe(0);
    expect(completionError('READ', completion[COMPLETION_STATUS], a.address, 4096, undefined).status).toBe('EKEYREJECTED');
    expect(conn.inflight).toBe(0);
  });

  it('a lane opens its own connection in a worker thread from the session handle', async () => {
    const [a] = leases;
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const d = require(workerData.dist);
       const staging = new d.StagingBuffer(65536);
       const view = new Uint32Array(staging.view());
       view.fill(0xfeed, 0, 1024);
       const conn = d.DataConnection.open(workerData.session, staging, 8);
       const ops = d.opBuffer(2);
       d.setOp(ops, 0, d.OpKind.write, 1, 0, workerData.address, 4096, workerData.key);
       d.setOp(ops, 1, d.OpKind.read, 2, 8192, workerData.address, 4096, workerData.key);
       conn.post(ops, 2);
       const out = d.completionBuffer(4);
       let n = 0; for (let i = 0; i < 50 && n < 2; i++) n += conn.poll(out.subarray(n * 3), 100);
       conn.close();
       parentPort.postMessage({ n, statuses: [out[1], out[4]], value: view[2048 + 5] });`,
      { eval: true, workerData: { dist: DIST, session: session.handle, address: a.address + SLAB - 4096, key: a.key } },
    );
    const reply = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(reply).toEqual({ n: 2, statuses: [0, 0], value: 0xfeed });
  });
});
