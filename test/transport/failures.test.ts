// Misbehaving peers: a client killed with leases held, a memory node killed
// or stalled mid-operation, a wrong token. Nothing hangs; errors are clear.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  COMPLETION_STATUS,
  DataConnection,
  MemoryNode,
  OpKind,
  RemoteSession,
  StagingBuffer,
  completionBuffer,
  completionError,
  opBuffer,
  setOp,
} from '../../dist/index.js';
import { eventually, spawnServe, type ServeProcess } from '../helpers/memory-node';

const SLAB = 2 ** 20;
const DIST = path.resolve(__dirname, '../../dist/index.js');

function statusName(status: number): string {
  return status === 0 ? 'ok' : completionError('READ', status, 0, 0, undefined).status;
}

/** Posts one op and returns its completion status (bounded: at most `polls` polls of 100 ms). */
function oneOp(conn: DataConnection, kind: number, address: number, key: number, polls = 100): string {
  const ops = opBuffer(1);
  setOp(ops, 0, kind as 0 | 1, 1, 0, address, 4096, key);
  conn.post(ops, 1);
  const out = completionBuffer(1);
  for (let i = 0; i < polls; i++) {
    if (conn.poll(out, 100) === 1) return statusName(out[COMPLETION_STATUS]);
  }
  return 'no completion';
}

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

describe.each(['tcp', 'shm', 'file'] as const)('%s: failures', (transport) => {
  function tmpPool(): string | undefined {
    if (transport !== 'file') return undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmem-fail-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return path.join(dir, 'pool');
  }

  it('a killed client loses its leases after the timeout, and the slab is zeroed before reuse', async () => {
    const node = await MemoryNode.start({ listen: '127.0.0.1:0', size: 2 * SLAB, slabSize: SLAB, transport, file: tmpPool(), leaseTimeoutMs: 300, heartbeatMs: 100 });
    cleanup.push(() => node.close());
    // The client writes 0xAB over its slab, checks it, says so, then waits to be killed.
    const script = `
      const d = require(${JSON.stringify(DIST)});
      (async () => {
        const s = await d.RemoteSession.open({ host: '127.0.0.1', port: ${node.address.port}, client: 'doomed' });
        const lease = await s.lease();
        const st = new d.StagingBuffer(${SLAB});
        const v = new Uint8Array(st.view()); v.fill(0xab, 0, 65536);
        const conn = d.DataConnection.open(s.handle, st, 4);
        const ops = d.opBuffer(2);
        d.setOp(ops, 0, d.OpKind.write, 1, 0, lease.address, 65536, lease.key);
        d.setOp(ops, 1, d.OpKind.read, 2, 65536, lease.address, 65536, lease.key);
        conn.post(ops, 2);
        const out = d.completionBuffer(2); let n = 0;
        for (let i = 0; i < 100 && n < 2; i++) n += conn.poll(out.subarray(n * 3), 100);
        console.log(JSON.stringify({ slab: lease.slabId, n, back: v[65536 + 999] }));
        setInterval(() => {}, 1000);
      })();`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const report = await new Promise<string>((resolve) => child.stdout.once('data', (b: Buffer) => resolve(b.toString())));
    expect(JSON.parse(report)).toEqual({ slab: 0, n: 2, back: 0xab });
    expect(node.stats().leases).toBe(1);
    child.kill('SIGKILL');
    await eventually(() => node.stats().expiredSessions === 1 && node.stats().leases === 0, 'the killed client expires');

    const session = await RemoteSession.open({ host: '127.0.0.1', port: node.address.port, client: 'next' });
    cleanup.push(() => session.close());
    const lease = await session.lease();
    expect(lease.slabId).toBe(0);
    const staging = new StagingBuffer(SLAB);
    const view = new Uint8Array(staging.view());
    view.fill(0x55);
    const conn = DataConnection.open(session.handle, staging, 4);
    cleanup.push(() => conn.close());
    const ops = opBuffer(1);
    setOp(ops, 0, OpKind.read, 1, 0, lease.address, SLAB, lease.key);
    conn.post(ops, 1);
    const out = completionBuffer(1);
    let n = 0;
    for (let i = 0; i < 100 && n === 0; i++) n = conn.poll(out, 100);
    expect(statusName(out[COMPLETION_STATUS])).toBe('ok');
    expect(view.every((b) => b === 0)).toBe(true);
  });

  it('a killed memory node fails operations with a clear error, never a hang', async () => {
    const serve: ServeProcess = await spawnServe(
      ['--size', String(2 * SLAB), '--slab-size', String(SLAB), '--transport', transport, ...(transport === 'file' ? ['--file', tmpPool()!] : [])],
    );
    cleanup.push(() => serve.child.kill('SIGKILL'));
    const session = await RemoteSession.open({ host: serve.host, port: serve.port, timeoutMs: 1000 });
    cleanup.push(() => session.close());
    const lease = await session.lease();
    const conn = DataConnection.open(session.handle, new StagingBuffer(65536), 4);
    cleanup.push(() => conn.close());
    expect(oneOp(conn, OpKind.write, lease.address, lease.key)).toBe('ok');

    serve.child.kill('SIGKILL');
    await serve.exited;
    await eventually(() => session.lost, 'the session notices the memory node is gone');
    let status: string;
    try {
      status = oneOp(conn, OpKind.read, lease.address, lease.key);
    } catch (error) {
      // tcp: the broken connection refuses new posts with a SystemError.
      status = (error as { code: string }).code;
    }
    expect(['ECONNRESET', 'EPIPE']).toContain(status);
    await expect(session.lease()).rejects.toMatchObject({ code: 'ERR_DMEM_NODE_LOST' });
  });
});

describe('stalls and refusals', () => {
  it('a stalled memory node (SIGSTOP) times the operation out, bounded by the session timeout', async () => {
    const serve = await spawnServe(['--size', String(2 * SLAB), '--slab-size', String(SLAB)]);
    cleanup.push(() => serve.child.kill('SIGKILL'));
    cleanup.push(() => serve.child.kill('SIGCONT'));
    const session = await RemoteSession.open({ host: serve.host, port: serve.port, timeoutMs: 500 });
    const lease = await session.lease();
    const conn = DataConnection.open(session.handle, new StagingBuffer(65536), 4);
    cleanup.push(() => conn.close());
    expect(oneOp(conn, OpKind.write, lease.address, lease.key)).toBe('ok');
    serve.child.kill('SIGSTOP');
    // kill() returns before the signal lands: wait until the process is stopped.
    const state = (): string => fs.readFileSync(`/proc/${serve.child.pid}/stat`, 'utf8').split(') ')[1][0];
    await eventually(() => state() === 'T', 'the memory node is stopped');
    expect(oneOp(conn, OpKind.read, lease.address, lease.key, 100)).toBe('ETIMEDOUT');
    expect(() => oneOp(conn, OpKind.read, lease.address, lease.key)).toThrow(/ETIMEDOUT|broken/);
    serve.child.kill('SIGCONT');
    await session.close().catch(() => undefined);
  });

  it('a wrong token is refused with ERR_DMEM_AUTH and the node keeps serving', async () => {
    const node = await MemoryNode.start({ listen: '127.0.0.1:0', size: SLAB, slabSize: SLAB, token: 'sesame' });
    cleanup.push(() => node.close());
    await expect(RemoteSession.open({ host: '127.0.0.1', port: node.address.port, token: 'wrong' })).rejects.toMatchObject({
      code: 'ERR_DMEM_AUTH',
      message: expect.stringMatching(/token/),
    });
    const ok = await RemoteSession.open({ host: '127.0.0.1', port: node.address.port, token: 'sesame' });
    expect((await ok.lease()).slabId).toBe(0);
    await ok.close();
  });

  it('refuses impossible memory node options before starting', async () => {
    await expect(MemoryNode.start({ listen: '0.0.0.0:0', size: SLAB, slabSize: SLAB })).rejects.toThrow(/needs a token/);
    await expect(MemoryNode.start({ size: '1K', slabSize: SLAB })).rejects.toThrow(/at least one slab/);
    await expect(MemoryNode.start({ size: SLAB, slabSize: SLAB, transport: 'file' })).rejects.toThrow(/--file PATH/);
    await expect(MemoryNode.start({ listen: 'nowhere', size: SLAB })).rejects.toThrow(/HOST:PORT/);
  });
});
