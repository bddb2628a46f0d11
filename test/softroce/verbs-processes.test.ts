// The verbs pieces as separate processes, the way they are deployed: `dmem
// info`, `dmem bench verbs` server and client, a client that vanishes holding
// a lease and a queue pair, and a memory node that dies under a lane. Runs
// inside the soft-RoCE guest; skips, saying why, anywhere else.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataConnection, OpKind, RemoteSession, StagingBuffer, completionBuffer, completionError, opBuffer, setOp } from '../../dist/index.js';
import { BIN, eventually, spawnServe } from '../helpers/memory-node';
import { findRdma, printSkip } from './rdma';

const { target, reason } = findRdma();
printSkip(reason, 'verbs process tests (dmem info, dmem bench verbs, vanishing client, dying memory node)');

/** Resolves with a child's exit code and output; the child is killed after `limitMs` so a test never hangs. */
function run(args: string[], limitMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe.skipIf(target === undefined)('verbs processes on a real RDMA device', () => {
  const device = target?.device ?? '';
  const gidArgs = target?.gidIndex === undefined ? [] : ['--gid-index', String(target.gidIndex)];
  const rdma = { device, gidIndex: target?.gidIndex };

  it('dmem info --json lists the device, its active port and its RoCE v2 GIDs', () => {
    const info = JSON.parse(spawnSync(process.execPath, [BIN, 'info', '--json'], { encoding: 'utf8' }).stdout) as {
      verbs: { built: boolean; devices: Array<{ name: string; ports: Array<{ port: number; state: string; linkLayer: string; activeMtu: number; gids: Array<{ index: number; gid: string; type: string }> }> }> };
    };
    expect(info.verbs.built).toBe(true);
    const dev = info.verbs.devices.find((d) => d.name === device);
    expect(dev).toBeDefined();
    const port = dev!.ports.find((p) => p.port === target!.port)!;
    expect(port.state).toMatch(/active/i);
    expect(port.linkLayer).toBe('Ethernet');
    expect(port.activeMtu).toBeGreaterThanOrEqual(256);
    const v2 = port.gids.filter((g) => g.type === 'RoCEv2');
    expect(v2.length).toBeGreaterThan(0);
    // The one carrying the netdev's IPv4 address, IPv4-mapped.
    const mapped = v2.filter((g) => /^0000:0000:0000:0000:0000:ffff:/.test(g.gid));
    expect(mapped.length).toBeGreaterThan(0);
    if (target!.gidIndex !== undefined) expect(mapped.map((g) => g.index)).toContain(target!.gidIndex);
    const text = spawnSync(process.execPath, [BIN, 'info'], { encoding: 'utf8' }).stdout;
    expect(text).toMatch(new RegExp(`^  ${device} port 1  \\S*active\\S* Ethernet mtu \\d+  RoCEv2 `, 'im'));
  });

  it('dmem bench verbs: the server exits after its client, the client prints and writes the figures', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmem-bench-verbs-'));
    const port = String(20000 + (process.pid % 10000));
    const common = ['bench', 'verbs', '-d', device, ...gidArgs.map((a) => a.replace('--gid-index', '-x')), '-s', '4096', '-n', '200', '-p', port];
    const server = run([...common, 'read'], 90_000);
    // The client retries until the server listens (a bounded number of tries).
    let client = { code: null as number | null, output: '' };
    for (let i = 0; i < 40; i++) {
      client = await run([...common, '--json', path.join(dir, 'read.json'), 'read', '127.0.0.1'], 60_000);
      if (!/ECONNREFUSED/.test(client.output)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const s = await server;
    expect(client.output).toMatch(/t_p50\[usec\]/);
    expect(client.code).toBe(0);
    expect(s.code).toBe(0);
    expect(s.output).toMatch(/client done, server exiting/);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'read.json'), 'utf8')) as { op: string; size: number; latencyUs: { p50: number; p99: number }; jsLatencyUs: { p50: number }; bandwidth: { mbPerSec: number } };
    expect(report).toMatchObject({ op: 'read', size: 4096 });
    expect(report.latencyUs.p50).toBeGreaterThan(0);
    expect(report.latencyUs.p99).toBeGreaterThanOrEqual(report.latencyUs.p50);
    expect(report.jsLatencyUs.p50).toBeGreaterThan(0);
    expect(report.bandwidth.mbPerSec).toBeGreaterThan(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a client that vanishes holding a lease and a QP loses both when its lease times out', async () => {
    // 3 s, not less: under emulation a client's event loop can stall for a
    // second (module loading, memory registration), and a silent session expires.
    const serve = await spawnServe(['--transport', 'verbs', '--device', device, ...gidArgs, '--size', '8M', '--slab-size', '4M', '--lease-timeout', '3']);
    try {
      const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'verbs-client.cjs'), serve.host, String(serve.port), device, String(target!.gidIndex ?? '')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      await eventually(() => /ready slab/.test(out) || child.exitCode !== null, 'the client is ready', 600, 50);
      expect(out).toMatch(/ready slab 0/);
      const probe = await RemoteSession.open({ host: serve.host, port: serve.port, client: 'probe', rdma });
      const stats = async () => (await probe.stats()) as { leases: number; backend: { dataConnections: number } };
      expect(await stats()).toMatchObject({ leases: 1, backend: { dataConnections: 1 } });
      child.kill('SIGKILL');
      await eventually(async () => (await stats()).leases === 0, 'the vanished client\'s lease expired', 600, 50);
      expect((await stats()).backend.dataConnections).toBe(0);
      expect(serve.lines.join('\n')).toMatch(/expired \(control connection closed without bye\): 1 slab revoked/);
      // The slab is usable again, and reads as zeros.
      const lease = await probe.lease();
      expect(lease.slabId).toBe(0);
      const staging = new StagingBuffer(65536);
      new Uint8Array(staging.view()).fill(0xee);
      const conn = DataConnection.open(await probe.prepareLane({ maxInflight: 4 }), staging);
      const ops = opBuffer(1);
      setOp(ops, 0, OpKind.read, 1, 0, lease.address, 4096, lease.key);
      conn.post(ops, 1);
      const done = completionBuffer(1);
      expect(conn.poll(done, 10_000)).toBe(1);
      expect(done[1]).toBe(0);
      expect(new Uint8Array(staging.view(), 0, 4096).every((b) => b === 0)).toBe(true);
      conn.close();
      await probe.close();
    } finally {
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
    }
  });

  it('a memory node that dies fails the lane\'s work requests with a status, never a hang', async () => {
    const serve = await spawnServe(['--transport', 'verbs', '--device', device, ...gidArgs, '--size', '4M', '--slab-size', '4M']);
    const session = await RemoteSession.open({ host: serve.host, port: serve.port, client: 'orphan', rdma });
    const lease = await session.lease();
    const conn = DataConnection.open(await session.prepareLane({ maxInflight: 8 }), new StagingBuffer(65536));
    const ops = opBuffer(1);
    setOp(ops, 0, OpKind.read, 3, 0, lease.address, 4096, lease.key);
    const out = completionBuffer(8);
    expect(conn.post(ops, 1)).toBe(1);
    expect(conn.poll(out, 10_000)).toBe(1);
    expect(out[1]).toBe(0);
    serve.child.kill('SIGKILL');
    await serve.exited;
    // Its QPs are gone with it: the READ is retried and then fails (or, once the
    // control connection's loss is seen, is refused with ECONNRESET; or, when
    // the lane's stall timeout passes before the device's retries run out, as
    // under slow emulation, the lane flushes its QP: WR_FLUSH_ERR).
    expect(conn.post(ops, 1)).toBe(1);
    let n = 0;
    for (let i = 0; i < 60 && n === 0; i++) n = conn.poll(out, 1000);
    expect(n).toBe(1);
    expect(out[0]).toBe(3);
    expect(out[1]).not.toBe(0);
    const error = completionError('READ', out[1], lease.address, 4096, session.handle);
    expect(['IBV_WC_RETRY_EXC_ERR', 'ECONNRESET', 'IBV_WC_WR_FLUSH_ERR']).toContain(error.status);
    conn.close();
    await session.close();
  });
});
