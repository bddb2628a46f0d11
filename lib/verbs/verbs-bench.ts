/**
 * `dmem bench verbs`: one-sided READ or WRITE over a verbs lane, measured the
 * way perftest's ib_read_lat / ib_write_bw measure, so the two can be run
 * side by side on one device (same flags: -d -i -x -s -n, server without a
 * host, client with one).
 *
 * Server: a memory node serving verbs; it exits once the first client's
 * session has ended. Client: a RemoteSession, one lease, one lane (one RC QP)
 * and DataConnection, exactly the path a pager lane takes. Latency: one
 * operation in flight, timed as ib_read_lat times it: a native loop of post
 * and poll with one clock read per iteration (DataConnection.runLatency), so
 * that the figure is the data path's and comparable with perftest's; the
 * same loop driven from JavaScript (post() and poll() per operation, timed
 * with performance.now()) is reported beside it as `jsLatencyUs`, the cost a
 * JavaScript caller pays per operation. Bandwidth: `txDepth` in flight, bytes
 * over wall time.
 */
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { percentile, round } from '../bench/stats';
import { OptionError } from '../errors';
import { MemoryNode } from '../node/memory-node';
import { completionError } from '../transport/completion-error';
import { DataConnection, DEFAULT_SPIN_US } from '../transport/data-connection';
import { COMPLETION_STATUS, COMPLETION_STRIDE, OpKind, completionBuffer, opBuffer, setOp } from '../transport/layout';
import { RemoteSession } from '../transport/remote-session';
import { StagingBuffer } from '../transport/staging-buffer';
import type { Lease } from '../node/control-client';

export interface VerbsBenchOptions {
  op: 'read' | 'write';
  /** Server mode without; client mode with the server's address. */
  host?: string;
  /** Control port (perftest's -p); default 18515. */
  port: number;
  device?: string;
  ibPort?: number;
  gidIndex?: number;
  size: number;
  iterations: number;
  /** Operations in flight for the bandwidth run (perftest's -t). */
  txDepth: number;
  /** DataConnection spinUs; default: the library's. */
  spinUs?: number;
  token?: string;
  /** Server: the address to listen on; default 127.0.0.1. */
  bind?: string;
  log?: (line: string) => void;
}

export interface VerbsBenchReport {
  tool: 'dmem bench verbs';
  op: 'read' | 'write';
  size: number;
  iterations: number;
  txDepth: number;
  /** DataConnection's busy-poll budget in effect. */
  spinUs: number;
  rdma: { device: string; port: number; gidIndex: number; gid: string; mtu: number; linkLayer: string };
  machine: { cpus: number; kernel: string; node: string };
  /** Timed natively, one clock read per operation, as perftest's *_lat. */
  latencyUs: LatencySummary;
  /** The same, driven from JavaScript: post() and poll() per operation, performance.now() around them. */
  jsLatencyUs: LatencySummary;
  bandwidth: { mbPerSec: number; mops: number };
}

export interface LatencySummary {
  min: number;
  p50: number;
  p99: number;
  max: number;
  avg: number;
}

export const DEFAULT_BENCH_PORT = 18515;

/** Server mode: serve verbs until one client has come and gone. Resolves with the node's address. */
export async function runVerbsBenchServer(options: VerbsBenchOptions): Promise<void> {
  const say = options.log ?? (() => undefined);
  const slab = slabBytes(options);
  const node = await MemoryNode.start({
    listen: `${options.bind ?? '127.0.0.1'}:${options.port}`,
    size: slab,
    slabSize: slab,
    token: options.token,
    transport: 'verbs',
    rdma: { device: options.device, port: options.ibPort, gidIndex: options.gidIndex },
  });
  const r = node.rdma!;
  say(`dmem bench verbs: server on ${node.address.host}:${node.address.port}, ${r.device} port ${r.port} GID index ${r.gidIndex} (${r.gid}), waiting for a client`);
  try {
    // Until a session has come and gone: sampled, as perftest's server simply waits for its one client.
    let seen = false;
    for (;;) {
      const sessions = node.stats().sessions;
      if (sessions > 0) seen = true;
      else if (seen) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    say('dmem bench verbs: client done, server exiting');
  } finally {
    await node.close();
  }
}

/** Client mode: measure latency, then bandwidth. */
export async function runVerbsBenchClient(options: VerbsBenchOptions): Promise<VerbsBenchReport> {
  const session = await RemoteSession.open({
    host: options.host!,
    port: options.port,
    token: options.token,
    client: 'dmem bench verbs',
    rdma: { device: options.device, port: options.ibPort, gidIndex: options.gidIndex },
  });
  try {
    const lease = await session.lease();
    if (lease.length < options.size * options.txDepth) {
      throw new OptionError('s', `the server's slab holds ${lease.length} bytes, less than -s ${options.size} x -t ${options.txDepth}: start the server with the same -s and -t`);
    }
    const lane = await session.prepareLane({ maxInflight: options.txDepth });
    const staging = new StagingBuffer(roundUp(options.size * options.txDepth, 4096));
    const conn = DataConnection.open(lane, staging, undefined, { spinUs: options.spinUs });
    try {
      const kind = options.op === 'read' ? OpKind.read : OpKind.write;
      const latency = measureLatency(conn, kind, options, lease);
      const jsLatency = measureLatencyFromJs(conn, kind, options, lease);
      const bandwidth = measureBandwidth(conn, kind, options, lease);
      const r = session.rdma!;
      return {
        tool: 'dmem bench verbs',
        op: options.op,
        size: options.size,
        iterations: options.iterations,
        txDepth: options.txDepth,
        spinUs: options.spinUs ?? DEFAULT_SPIN_US,
        rdma: { device: r.device, port: r.port, gidIndex: r.gidIndex, gid: r.gid, mtu: r.mtu, linkLayer: r.linkLayer },
        machine: { cpus: os.availableParallelism(), kernel: os.release(), node: process.version },
        latencyUs: latency,
        jsLatencyUs: jsLatency,
        bandwidth,
      };
    } finally {
      conn.close();
    }
  } finally {
    await session.close();
  }
}

export function renderVerbsReport(report: VerbsBenchReport): string[] {
  const l = report.latencyUs;
  const b = report.bandwidth;
  const j = report.jsLatencyUs;
  const pad = (v: string | number, n: number): string => String(v).padStart(n);
  return [
    `dmem bench verbs ${report.op}: ${report.rdma.device} port ${report.rdma.port} GID index ${report.rdma.gidIndex}, mtu ${report.rdma.mtu}, spin ${report.spinUs} us`,
    ` #bytes #iterations  t_min[usec]  t_p50[usec]  t_p99[usec]  t_max[usec]  t_avg[usec]  BW[MB/sec] (depth ${report.txDepth})  MsgRate[Mpps]`,
    ` ${pad(report.size, 6)} ${pad(report.iterations, 11)} ${pad(l.min, 12)} ${pad(l.p50, 12)} ${pad(l.p99, 12)} ${pad(l.max, 12)} ${pad(l.avg, 12)} ${pad(b.mbPerSec, 11)}${' '.repeat(12)}${pad(b.mops, 13)}`,
    `latency driven from JavaScript (post + poll per operation): p50 ${j.p50} us, p99 ${j.p99} us, avg ${j.avg} us`,
  ];
}

function measureLatency(conn: DataConnection, kind: OpKind, options: VerbsBenchOptions, lease: Lease): LatencySummary {
  // Like ib_read_lat: one buffer each side, one operation at a time.
  const op = opBuffer(1);
  setOp(op, 0, kind, 0, 0, lease.address, options.size, lease.key);
  const completion = completionBuffer(1);
  const warmup = new Float64Array(Math.max(10, Math.ceil(options.iterations / 10)));
  const lat = new Float64Array(options.iterations);
  for (const run of [warmup, lat]) {
    const done = conn.runLatency(op, run, completion, 5000);
    if (done < run.length) throw completionError(options.op === 'read' ? 'READ' : 'WRITE', completion[COMPLETION_STATUS], lease.address, options.size, undefined);
  }
  for (let i = 0; i < lat.length; i++) lat[i] /= 1000;
  return summarize(lat);
}

function measureLatencyFromJs(conn: DataConnection, kind: OpKind, options: VerbsBenchOptions, lease: Lease): LatencySummary {
  const ops = opBuffer(1);
  setOp(ops, 0, kind, 0, 0, lease.address, options.size, lease.key);
  const out = completionBuffer(1);
  const warmup = Math.max(10, Math.ceil(options.iterations / 10));
  const lat = new Float64Array(options.iterations);
  for (let i = -warmup; i < options.iterations; i++) {
    const t0 = performance.now();
    if (conn.post(ops, 1) !== 1) throw new Error('bench: the lane refused a post with nothing in flight');
    waitOne(conn, out, options, lease);
    if (i >= 0) lat[i] = (performance.now() - t0) * 1000;
  }
  return summarize(lat);
}

function summarize(lat: Float64Array): LatencySummary {
  let sum = 0;
  for (const v of lat) sum += v;
  return {
    min: round(percentile(lat, 0)),
    p50: round(percentile(lat, 50)),
    p99: round(percentile(lat, 99)),
    max: round(percentile(lat, 100)),
    avg: round(sum / lat.length),
  };
}

function measureBandwidth(conn: DataConnection, kind: OpKind, options: VerbsBenchOptions, lease: Lease): VerbsBenchReport['bandwidth'] {
  const depth = options.txDepth;
  const ops = opBuffer(depth);
  // Distinct staging and remote buffers per slot, as ib_write_bw cycles its buffers.
  for (let i = 0; i < depth; i++) setOp(ops, i, kind, i, i * options.size, lease.address + i * options.size, options.size, lease.key);
  const out = completionBuffer(depth);
  const total = options.iterations;
  let posted = 0;
  let done = 0;
  const started = performance.now();
  while (done < total) {
    // Refill the free slots with one linked post.
    const room = Math.min(depth - (posted - done), total - posted);
    if (room > 0) {
      const first = posted % depth;
      const count = Math.min(room, depth - first);
      posted += conn.post(ops.subarray(first * 6), count);
    }
    const n = conn.poll(out, 5000);
    if (n === 0) throw new Error(`bench: no completion in 5 s (${done}/${total} done)`);
    for (let i = 0; i < n; i++) {
      const status = out[i * COMPLETION_STRIDE + COMPLETION_STATUS];
      if (status !== 0) throw completionError(options.op === 'read' ? 'READ' : 'WRITE', status, lease.address, options.size, undefined);
    }
    done += n;
  }
  const seconds = (performance.now() - started) / 1000;
  return { mbPerSec: round((total * options.size) / seconds / 2 ** 20), mops: round(total / seconds / 1e6, 6) };
}

function waitOne(conn: DataConnection, out: Int32Array, options: VerbsBenchOptions, lease: Lease): void {
  const n = conn.poll(out, 5000);
  if (n !== 1) throw new Error('bench: no completion in 5 s');
  const status = out[COMPLETION_STATUS];
  if (status !== 0) throw completionError(options.op === 'read' ? 'READ' : 'WRITE', status, lease.address, options.size, undefined);
}

/** The server's one slab: room for a client with the same -s and -t, and at least 8 MiB. */
function slabBytes(options: VerbsBenchOptions): number {
  return Math.max(8 << 20, roundUp(options.size * options.txDepth, 1 << 20));
}

function roundUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}
