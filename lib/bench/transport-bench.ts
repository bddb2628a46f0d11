/**
 * `dmem bench transport`: READ and WRITE latency (p50, p99) and throughput at
 * 4 KiB and 64 KiB, 1 and 16 in flight, for each transport, side by side in
 * one run with a raw socket request/response baseline of the same sizes.
 * Every server (memory nodes, baseline) runs in a child process; the client
 * side runs here, through the same DataConnection the pager uses.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadCore } from '../native/binding';
import { MemoryNodeClient } from '../node/control-client';
import { DataConnection } from '../transport/data-connection';
import { RemoteSession } from '../transport/remote-session';
import { StagingBuffer } from '../transport/staging-buffer';
import { COMPLETION_STATUS, COMPLETION_STRIDE, COMPLETION_TAG, OpKind, completionBuffer, opBuffer, setOp } from '../transport/layout';
import { completionError } from '../transport/completion-error';
import { spawnMemoryNode, spawnRawServer, type ChildServer } from './child-server';
import { percentile, round } from './stats';

export type BenchTransport = 'tcp' | 'shm' | 'file';

export interface TransportBenchOptions {
  remote?: { host: string; port: number };
  token?: string;
  transports: BenchTransport[];
  sizes: number[];
  inflights: number[];
  /** Measured operations per configuration (after a warm-up of a tenth). */
  iterations: number;
  progress?: (line: string) => void;
}

export interface TransportResult {
  transport: BenchTransport;
  endpoint: string;
  op: 'read' | 'write';
  size: number;
  inflight: number;
  p50Us: number;
  p99Us: number;
  opsPerSec: number;
  /** p50 over the baseline's p50 at the same size and in-flight count. */
  p50VsBaseline: number;
}

export interface BaselineResult {
  size: number;
  inflight: number;
  p50Us: number;
  p99Us: number;
  opsPerSec: number;
}

export interface TransportBenchReport {
  machine: { cpus: number; kernel: string; node: string };
  iterations: number;
  results: TransportResult[];
  baseline: BaselineResult[];
}

const SLAB = 64 * 2 ** 20;

export async function runTransportBench(options: TransportBenchOptions): Promise<TransportBenchReport> {
  const say = options.progress ?? (() => undefined);
  const baseline = await measureBaseline(options, say);
  const results: TransportResult[] = [];
  const remoteTransport = options.remote === undefined ? undefined : await probeTransport(options);
  for (const transport of options.transports) {
    const useRemote = options.remote !== undefined && remoteTransport === transport;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dmem-bench-'));
    let child: ChildServer | undefined;
    try {
      const endpoint = useRemote
        ? options.remote!
        : (child = await spawnMemoryNode([
            '--size', String(2 * SLAB), '--slab-size', String(SLAB), '--transport', transport,
            ...(transport === 'file' ? ['--file', path.join(tmp, 'pool')] : []),
          ]));
      const where = `${useRemote ? 'remote' : 'child'} ${endpoint.host}:${endpoint.port}`;
      say(`${transport}: memory node ${where}`);
      const session = await RemoteSession.open({ host: endpoint.host, port: endpoint.port, token: useRemote ? options.token : undefined, client: 'dmem bench transport' });
      try {
        const lease = await session.lease();
        const maxInflight = Math.max(...options.inflights);
        const staging = new StagingBuffer(maxInflight * Math.max(...options.sizes));
        const conn = DataConnection.open(session.handle, staging, maxInflight);
        try {
          for (const op of ['read', 'write'] as const) {
            for (const size of options.sizes) {
              for (const inflight of options.inflights) {
                const m = measure(conn, op, size, inflight, options.iterations, lease);
                const base = baseline.find((b) => b.size === size && b.inflight === inflight);
                results.push({ transport, endpoint: where, op, size, inflight, ...m, p50VsBaseline: base ? round(m.p50Us / base.p50Us) : NaN });
                say(`${transport} ${op} ${size / 1024}K x${inflight}: p50 ${m.p50Us} us`);
              }
            }
          }
        } finally {
          conn.close();
        }
      } finally {
        await session.close();
      }
    } finally {
      await child?.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  return {
    machine: { cpus: os.availableParallelism(), kernel: os.release(), node: process.version },
    iterations: options.iterations,
    results,
    baseline,
  };
}

async function probeTransport(options: TransportBenchOptions): Promise<BenchTransport> {
  const client = await MemoryNodeClient.connect({ ...options.remote!, token: options.token, client: 'dmem bench transport (probe)' });
  const transport = client.welcome.transport;
  await client.close();
  if (transport === 'verbs') throw new Error('the remote memory node serves verbs: use `dmem bench verbs`');
  return transport;
}

async function measureBaseline(options: TransportBenchOptions, say: (line: string) => void): Promise<BaselineResult[]> {
  const server = await spawnRawServer();
  const { NativeRawClient } = loadCore();
  const client = new NativeRawClient(server.host, server.port);
  const out: BaselineResult[] = [];
  try {
    for (const size of options.sizes) {
      for (const inflight of options.inflights) {
        client.run(size, inflight, new Float64Array(Math.ceil(options.iterations / 10)));
        const lat = new Float64Array(options.iterations);
        const ns = client.run(size, inflight, lat);
        out.push({
          size,
          inflight,
          p50Us: round(percentile(lat, 50)),
          p99Us: round(percentile(lat, 99)),
          opsPerSec: Math.round(options.iterations / (ns / 1e9)),
        });
        say(`baseline ${size / 1024}K x${inflight}: p50 ${out[out.length - 1].p50Us} us`);
      }
    }
  } finally {
    client.close();
    await server.stop();
  }
  return out;
}

function measure(
  conn: DataConnection,
  op: 'read' | 'write',
  size: number,
  inflight: number,
  iterations: number,
  lease: { address: number; key: number; length: number },
): { p50Us: number; p99Us: number; opsPerSec: number } {
  const kind = op === 'read' ? OpKind.read : OpKind.write;
  const warmup = Math.ceil(iterations / 10);
  const total = warmup + iterations;
  const started = new Float64Array(total);
  const latency = new Float64Array(total);
  const ops = opBuffer(1);
  const out = completionBuffer(inflight);
  const span = Math.floor(lease.length / size);
  let posted = 0;
  let done = 0;
  let measuredFrom = 0;
  while (done < total) {
    while (posted < total && posted - done < inflight) {
      setOp(ops, 0, kind, posted, (posted % inflight) * size, lease.address + (posted % span) * size, size, lease.key);
      started[posted] = performance.now();
      if (conn.post(ops, 1) !== 1) break;
      posted++;
    }
    const n = conn.poll(out, 5000);
    if (n === 0) throw new Error(`bench: no completion in 5 s (${done}/${total} done)`);
    const now = performance.now();
    for (let i = 0; i < n; i++) {
      const tag = out[i * COMPLETION_STRIDE + COMPLETION_TAG];
      const status = out[i * COMPLETION_STRIDE + COMPLETION_STATUS];
      if (status !== 0) throw completionError(op === 'read' ? 'READ' : 'WRITE', status, lease.address, size, undefined);
      latency[tag] = (now - started[tag]) * 1000;
      done++;
      if (done === warmup) measuredFrom = now;
    }
  }
  const elapsedMs = performance.now() - measuredFrom;
  const measured = latency.subarray(warmup);
  return {
    p50Us: round(percentile(measured, 50)),
    p99Us: round(percentile(measured, 99)),
    opsPerSec: Math.round(iterations / (elapsedMs / 1000)),
  };
}

export function renderTransportTable(report: TransportBenchReport): string[] {
  const lines: string[] = [];
  const pad = (s: string | number, n: number): string => String(s).padStart(n);
  lines.push(`${'transport'.padEnd(10)}${pad('op', 6)}${pad('size', 7)}${pad('infl', 6)}${pad('p50 us', 10)}${pad('p99 us', 10)}${pad('ops/s', 10)}${pad('p50/raw', 9)}`);
  for (const b of report.baseline) {
    lines.push(`${'raw tcp'.padEnd(10)}${pad('rr', 6)}${pad(`${b.size / 1024}K`, 7)}${pad(b.inflight, 6)}${pad(b.p50Us, 10)}${pad(b.p99Us, 10)}${pad(b.opsPerSec, 10)}${pad('1.00', 9)}`);
  }
  for (const r of report.results) {
    lines.push(
      `${r.transport.padEnd(10)}${pad(r.op, 6)}${pad(`${r.size / 1024}K`, 7)}${pad(r.inflight, 6)}${pad(r.p50Us, 10)}${pad(r.p99Us, 10)}${pad(r.opsPerSec, 10)}${pad(r.p50VsBaseline.toFixed(2), 9)}`,
    );
  }
  return lines;
}
