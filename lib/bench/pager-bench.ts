/**
 * bench/pager: fault service throughput of the TypeScript pager against a
 * minimal native pager (native/core/pager/floor_pager.h) fetching from the
 * same memory node over the same transport: sequential and shuffled, read
 * and write, one word per page, local budget = half the working set.
 *
 * Each trial: a fresh region; an untimed pass writes every page (so the
 * memory node holds them), then one timed pass touches every page in the
 * pattern's order from a worker thread. Throughput = pages / time.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadCore } from '../native/binding';
import { createRegion } from '../region/region';
import { RemoteSession } from '../transport/remote-session';
import { UffdRegion } from '../uffd/uffd-region';
import { spawnMemoryNode, type ChildServer } from './child-server';
import { median, round } from './stats';
import type { ToucherJob } from './toucher-main';

export type Pattern = 'seq-read' | 'seq-write' | 'shuffled-read' | 'shuffled-write';
export const PATTERNS: Pattern[] = ['seq-read', 'seq-write', 'shuffled-read', 'shuffled-write'];

export interface PagerBenchOptions {
  workingSetBytes: number;
  transport: 'shm' | 'tcp';
  /** Default: all of PATTERNS. */
  patterns?: Pattern[];
  blocks: string[]; // TS pager blocks: '4k', '64k', 'elastic'
  floorBlocks: string[]; // '4k', '64k'
  repeat: number;
  replacement?: 'clock' | 'fifo';
  dirtyTracking?: 'wp' | 'always';
  /** Touching threads, each with one slice of the pages (default 1). */
  threads?: number;
  progress?: (line: string) => void;
}

export interface PagerTrial {
  pager: 'ts' | 'floor';
  block: string;
  pattern: Pattern;
  pagesPerSec: number;
  nsPerFault: number;
  /** TS pager only: throughput over the floor's (same block; elastic: the floor's best). */
  vsFloor?: number;
  blockSizes?: Record<string, number>;
  faults?: number;
}

export interface PagerBenchReport {
  machine: { cpus: number; kernel: string; node: string };
  workingSetBytes: number;
  localBytes: number;
  transport: string;
  repeat: number;
  replacement: string;
  dirtyTracking: string;
  threads: number;
  trials: PagerTrial[];
  /** The smallest vsFloor over every TS trial. */
  worstVsFloor: number;
}

const TOUCHER = path.join(__dirname, 'toucher-main.js');
const SLAB = 64 * 2 ** 20;
const BLOCK_PAGES: Record<string, number> = { '4k': 1, '16k': 4, '64k': 16, '256k': 64 };

function orderFor(pattern: Pattern, pages: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: pages }, (_, i) => i);
  if (pattern.startsWith('shuffled')) {
    let x = seed;
    for (let i = pages - 1; i > 0; i--) {
      x = (x * 1103515245 + 12345) >>> 0;
      const j = x % (i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }
  return order;
}

/** Runs the touching threads (one slice of the order each); wall time from the common start. */
async function touch(job: Omit<ToucherJob, 'thread' | 'threads' | 'start'>, threads: number): Promise<{ ms: number; bad: number }> {
  const start = new SharedArrayBuffer(4);
  const results = await Promise.all(
    Array.from(
      { length: threads },
      (_, thread) =>
        new Promise<{ ms: number; bad: number }>((resolve, reject) => {
          const worker = new Worker(TOUCHER, { workerData: { ...job, thread, threads, start } satisfies ToucherJob });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
  return { ms: Math.max(...results.map((r) => r.ms)), bad: results.reduce((n, r) => n + r.bad, 0) };
}

async function tsTrial(node: ChildServer, o: PagerBenchOptions, block: string, pattern: Pattern, seed: number) {
  const region = await createRegion({
    size: o.workingSetBytes,
    localBytes: o.workingSetBytes / 2,
    remote: { host: node.host, port: node.port },
    lanes: 1,
    block,
    replacement: o.replacement,
    dirtyTracking: o.dirtyTracking,
  });
  try {
    const pages = o.workingSetBytes / 4096;
    const result = await touch({ region: region.handle.uffd, order: orderFor(pattern, pages, seed), fill: true, write: pattern.endsWith('write') }, o.threads ?? 1);
    if (result.bad > 0) throw new Error(`bench/pager: ${result.bad} pages lost their data (ts ${block} ${pattern})`);
    const s = region.stats();
    return { ms: result.ms, blockSizes: s.blockSizes, faults: s.faults.missing + s.faults.minor + s.faults.wp };
  } finally {
    await region.close();
  }
}

async function floorTrial(node: ChildServer, o: PagerBenchOptions, block: string, pattern: Pattern, seed: number) {
  const session = await RemoteSession.open({ host: node.host, port: node.port, client: 'bench/pager floor' });
  const uffd = UffdRegion.create({ size: o.workingSetBytes, writeProtect: 'off', name: 'dmem-floor' });
  const { NativeFloorPager } = loadCore();
  try {
    const addresses: number[] = [];
    const keys: number[] = [];
    for (let i = 0; i < Math.ceil(o.workingSetBytes / session.handle.slabSize); i++) {
      const lease = await session.lease();
      addresses.push(lease.address);
      keys.push(lease.key);
    }
    const pager = new NativeFloorPager(uffd.handle.id, session.handle.id, Float64Array.from(addresses), Float64Array.from(keys), session.handle.slabSize, BLOCK_PAGES[block], o.workingSetBytes / 2 / 4096);
    try {
      const pages = o.workingSetBytes / 4096;
      const result = await touch({ region: uffd.handle, order: orderFor(pattern, pages, seed), fill: true, write: pattern.endsWith('write') }, o.threads ?? 1);
      if (result.bad > 0) throw new Error(`bench/pager: ${result.bad} pages lost their data (floor ${block} ${pattern})`);
      if (pager.stats().failures > 0) throw new Error('bench/pager: the floor pager failed to serve faults');
      return { ms: result.ms };
    } finally {
      pager.close();
    }
  } finally {
    uffd.close();
    await session.close();
  }
}

export async function runPagerBench(o: PagerBenchOptions): Promise<PagerBenchReport> {
  const say = o.progress ?? (() => undefined);
  const node = await spawnMemoryNode(['--size', String(Math.ceil((2 * o.workingSetBytes) / SLAB) * SLAB), '--slab-size', String(SLAB), '--transport', o.transport]);
  const pages = o.workingSetBytes / 4096;
  const trials: PagerTrial[] = [];
  try {
    for (const pattern of o.patterns ?? PATTERNS) {
      const runs: Array<{ pager: 'ts' | 'floor'; block: string }> = [
        ...o.floorBlocks.map((block) => ({ pager: 'floor' as const, block })),
        ...o.blocks.map((block) => ({ pager: 'ts' as const, block })),
      ];
      const times = new Map<string, number[]>();
      const extras = new Map<string, { blockSizes?: Record<string, number>; faults?: number }>();
      // Interleave the repeats so that machine noise spreads over every configuration.
      for (let r = 0; r < o.repeat; r++) {
        for (const run of runs) {
          const key = `${run.pager}:${run.block}`;
          if (run.pager === 'ts') {
            const t = await tsTrial(node, o, run.block, pattern, 17 + r);
            times.set(key, [...(times.get(key) ?? []), t.ms]);
            extras.set(key, { blockSizes: t.blockSizes, faults: t.faults });
          } else {
            const t = await floorTrial(node, o, run.block, pattern, 17 + r);
            times.set(key, [...(times.get(key) ?? []), t.ms]);
          }
        }
      }
      const floorBest = Math.max(...o.floorBlocks.map((b) => pages / (median(times.get(`floor:${b}`)!) / 1000)));
      for (const run of runs) {
        const ms = median(times.get(`${run.pager}:${run.block}`)!);
        const pagesPerSec = Math.round(pages / (ms / 1000));
        const trial: PagerTrial = { pager: run.pager, block: run.block, pattern, pagesPerSec, nsPerFault: Math.round((ms * 1e6) / pages) };
        if (run.pager === 'ts') {
          const floorSame = o.floorBlocks.includes(run.block) ? pages / (median(times.get(`floor:${run.block}`)!) / 1000) : floorBest;
          trial.vsFloor = round(pagesPerSec / floorSame);
          Object.assign(trial, extras.get(`ts:${run.block}`));
        }
        trials.push(trial);
        say(`${pattern} ${run.pager} ${run.block}: ${pagesPerSec} pages/s${trial.vsFloor !== undefined ? ` (${trial.vsFloor}x floor)` : ''}`);
      }
    }
  } finally {
    await node.stop();
  }
  const ratios = trials.filter((t) => t.vsFloor !== undefined).map((t) => t.vsFloor!);
  return {
    machine: { cpus: os.availableParallelism(), kernel: os.release(), node: process.version },
    workingSetBytes: o.workingSetBytes,
    localBytes: o.workingSetBytes / 2,
    transport: o.transport,
    repeat: o.repeat,
    replacement: o.replacement ?? 'clock',
    dirtyTracking: o.dirtyTracking ?? 'wp',
    threads: o.threads ?? 1,
    trials,
    worstVsFloor: Math.min(...ratios),
  };
}

export function renderPagerTable(report: PagerBenchReport): string[] {
  const lines = [`${'pattern'.padEnd(16)}${'pager'.padEnd(7)}${'block'.padStart(8)}${'pages/s'.padStart(10)}${'ns/fault'.padStart(10)}${'vs floor'.padStart(10)}  blocks chosen`];
  for (const t of report.trials) {
    const blocks = t.blockSizes === undefined ? '' : Object.entries(t.blockSizes).filter(([, n]) => n > 0).map(([k, n]) => `${k}:${n}`).join(' ');
    lines.push(`${t.pattern.padEnd(16)}${t.pager.padEnd(7)}${t.block.padStart(8)}${String(t.pagesPerSec).padStart(10)}${String(t.nsPerFault).padStart(10)}${(t.vsFloor === undefined ? '' : t.vsFloor.toFixed(2)).padStart(10)}  ${blocks}`);
  }
  lines.push(`worst TS pager / native floor: ${report.worstVsFloor.toFixed(2)}`);
  return lines;
}
