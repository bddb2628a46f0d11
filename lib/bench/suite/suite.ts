/**
 * The `dmem bench` suite: for each workload, a local-only baseline (the same
 * native code on plain memory, the same vCPU threads), then the workload on a
 * dmem region with local memory at `localRatio` of its footprint, once per
 * block policy; then vCPU scaling. Every run verifies its own result; a run
 * whose verification fails fails the suite.
 */
import * as os from 'node:os';
import { createRegion, type Region } from '../../region/region';
import { createPagerPool, type PagerPool } from '../../region/pager-pool';
import type { RdmaOptions } from '../../transport/remote-session';
import type { RegionStats } from '../../region/stats';
import { loadWorkloads } from './native';
import { RunCanceller, runOnVcpus, type VcpuRun } from './vcpu-runner';
import { findWorkload, type WorkloadKind, type WorkloadSpec } from './workloads';

export const POLICIES = ['4k', '16k', '64k', 'elastic'] as const;
export type Policy = (typeof POLICIES)[number];
export const FIXED_POLICIES: Policy[] = ['4k', '16k', '64k'];
/**
 * The order a repeat runs the policies in: elastic between 4k and 64k, the
 * fixed sizes most often best, so that its time is paired (el/best) with a
 * run right beside it (the table keeps POLICIES' order).
 */
const RUN_ORDER: readonly Policy[] = ['4k', 'elastic', '64k', '16k'];

export interface MemoryNodeEndpoint {
  host: string;
  port: number;
  token?: string;
}

export interface SuiteOptions {
  workloads: string[];
  /** Overrides every workload's default footprint (bytes). */
  footprint?: number;
  quick: boolean;
  localRatio: number;
  vcpus: number;
  lanes: number;
  transport: string;
  node: MemoryNodeEndpoint;
  /** A verbs memory node: this machine's RDMA device and GID index (createRegion's rdma). */
  rdma?: RdmaOptions;
  /**
   * Region runs per workload and policy, interleaved over the policies; the
   * median (by measured time) is reported. Short runs on a shared machine
   * vary by ±20% from one to the next.
   */
  repeat: number;
  /**
   * Further repeats, two at a time and up to `max` in all, while the next
   * two are expected to end within `withinMs` of the workload's first
   * region run: a workload whose runs are short gets more of them (quick
   * pagerank: 100-150 ms runs whose elastic/64 KiB ratio ranged 0.8-1.4
   * within one process). Two at a time, so that the count stays odd (the
   * median is a run, not the upper of two) and each pair is one ABBA cycle.
   * Decided by elapsed time only, never by the figures measured.
   */
  moreRepeats?: { max: number; withinMs: number };
  /** vCPU scaling 1..vcpus on this workload (none: skipped). */
  scalingWorkload?: string;
  seed: number;
  canceller: RunCanceller;
  /**
   * Pager workers for the suite's regions (runSuite starts and closes one
   * when not given): each measured phase then runs on lanes whose code is
   * compiled, whatever its own initialising pass put through them
   * (lib/region/pager-pool.ts).
   */
  pool?: PagerPool;
  /** Called before each run with what it is, and after with its outcome. */
  step?: (event: { what: string; done: boolean; index: number; total: number }) => void;
}

/** What the pager did during the measured phase only (deltas of region.stats()). */
export interface PagerFigures {
  faults: number;
  faultsPerSec: number;
  missing: number;
  minor: number;
  wp: number;
  mibFetched: number;
  mibWrittenBack: number;
  pagesFetched: number;
  prefetchHits: number;
  probePages: number;
  /** prefetchHits / probePages: how often a probed prefetched page was used. */
  prefetchHitRate: number | null;
  prefetchWaste: number;
  /** Density probes in chunks settled at a single page, which fetch nothing (ghost sentinels), and those whose page missed soon. */
  ghostProbes: number;
  ghostHits: number;
  evictions: number;
  meanServiceUs: number;
  budgetWaits: number;
  /** Reclaimer zaps (MADV_DONTNEED; each call may shoot down vCPU TLBs) and CLOCK sweeps. */
  zappedPages: number;
  zapCalls: number;
  clockSweeps: number;
  /** Chunks per block size at the end of the measured phase. */
  blockSizes: Record<string, number>;
  serviceTimeUs: Record<string, number>;
}

export interface PolicyRun {
  policy: Policy;
  /** The median run's measured time; its other figures are that run's too. */
  measuredMs: number;
  /** Every run's measured time, in the order they ran. */
  runsMs: number[];
  initMs: number;
  verifyMs: number;
  /** measured / local measured - 1: 0.06 = 6% slower than local-only. */
  slowdown: number;
  verified: boolean;
  pager: PagerFigures;
}

export interface BlockSample {
  tMs: number;
  stage: number;
  blockSizes: Record<string, number>;
}

export interface WorkloadReport {
  name: string;
  kind: WorkloadKind;
  summary: string;
  footprintBytes: number;
  localBytes: number;
  vcpus: number;
  params: Record<string, number>;
  local: {
    measuredMs: number;
    initMs: number;
    verified: boolean;
    opsDone: number;
    /** Memory intensity of the local-only run, from the workload's own counters. */
    bytesTouchedPerSec: number;
    distinctPagesPerSec: number;
  };
  policies: PolicyRun[];
  bestFixed: Policy;
  /** Elastic's slowdown minus the best fixed one's (percentage points / 100). */
  elasticVsBestFixed: number;
  /**
   * Elastic's measured time over the best fixed block's: the median, over
   * the repeats, of the two runs of the same repeat (run side by side, so a
   * slow spell of the machine lands on both). 1.05 = 5% slower.
   */
  elasticTimeRatio: number;
  /**
   * The least and greatest of those per-repeat ratios: how far the machine
   * moved the figure (a difference inside this range is not a difference).
   */
  elasticTimeRatioRange: [number, number];
  /** Block sizes over time for the elastic run (phases only). */
  blockTimeline?: BlockSample[];
}

export interface ScalingPoint {
  vcpus: number;
  localMs: number;
  regionMs: number;
  slowdown: number;
  localOpsPerSec: number;
  regionOpsPerSec: number;
}

export interface SuiteReport {
  /** `laneNice`: the nice value the pager lanes served at (null: the process's own; RegionOptions.laneNice). */
  machine: { cpus: number; memoryBytes: number; kernel: string; node: string; laneNice: number | null };
  summary: {
    localRatio: number;
    transport: string;
    /** Mean slowdown over every workload but gups, per policy. */
    suiteAverageSlowdown: Record<Policy, number>;
    /** The same over the cloud-shaped workloads: the paper's 6% headline. */
    cloudAverageSlowdown: Record<Policy, number> | null;
    kernelAverageSlowdown: Record<Policy, number> | null;
    bestFixed: Policy;
    /** The workload (gups excluded) where elastic's time is furthest above the best fixed block's (elasticTimeRatio). */
    worstElasticTimeRatio: { workload: string; ratio: number } | null;
    allVerified: boolean;
  };
  workloads: WorkloadReport[];
  scaling?: { workload: string; policy: Policy; points: ScalingPoint[] };
  durationSec: number;
}

export class VerificationError extends Error {}

function footprintOf(spec: WorkloadSpec, o: SuiteOptions): number {
  return o.footprint ?? (o.quick ? spec.footprint.quick : spec.footprint.normal);
}

function check(run: VcpuRun, what: string, o: SuiteOptions): void {
  if (run.cancelled || o.canceller.cancelled) throw new CancelledError();
  if (!run.ok) throw new VerificationError(`${what}: verification failed: ${run.message}`);
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

/**
 * The local-only baseline: the median of LOCAL_REPEATS runs (by measured
 * time), each on fresh plain memory. It is cheap, and a short baseline is
 * the noisiest number of the suite on a shared machine.
 */
const LOCAL_REPEATS = 3;

async function localRun(spec: WorkloadSpec, bytes: number, threads: number, params: Record<string, number>, o: SuiteOptions): Promise<VcpuRun> {
  const native = loadWorkloads();
  const runs: VcpuRun[] = [];
  for (let r = 0; r < LOCAL_REPEATS; r++) {
    const plain = native.allocatePlain(bytes);
    try {
      const run = await runOnVcpus(spec.name, plain.address, bytes, threads, params, o.seed, o.canceller);
      check(run, `${spec.name} local-only`, o);
      runs.push(run);
    } finally {
      native.freePlain(plain.buffer);
    }
  }
  return runs.sort((a, b) => a.measuredMs - b.measuredMs)[Math.floor(runs.length / 2)];
}

async function withRegion<T>(bytes: number, policy: Policy, o: SuiteOptions, body: (region: Region) => Promise<T>): Promise<T> {
  const region = await createRegion({
    size: bytes,
    localBytes: Math.floor((bytes * o.localRatio) / 4096) * 4096,
    block: policy,
    lanes: o.lanes,
    remote: o.node,
    rdma: o.rdma,
    pool: o.pool,
  });
  try {
    return await body(region);
  } finally {
    await region.close();
  }
}

function pagerDelta(before: RegionStats, after: RegionStats, seconds: number): PagerFigures {
  const faultsOf = (s: RegionStats): number => s.faults.missing + s.faults.minor + s.faults.wp;
  const faults = faultsOf(after) - faultsOf(before);
  const probePages = after.probePages - before.probePages;
  const prefetchHits = after.prefetchHits - before.prefetchHits;
  const serviceTimeUs: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.serviceTimeUs)) {
    const d = v - (before.serviceTimeUs[k] ?? 0);
    if (d > 0) serviceTimeUs[k] = d;
  }
  // Mean service over the measured phase from the two cumulative means.
  const serviceSum = after.meanServiceUs * faultsOf(after) - before.meanServiceUs * faultsOf(before);
  return {
    faults,
    faultsPerSec: seconds > 0 ? Math.round(faults / seconds) : 0,
    missing: after.faults.missing - before.faults.missing,
    minor: after.faults.minor - before.faults.minor,
    wp: after.faults.wp - before.faults.wp,
    mibFetched: round((after.bytesFetched - before.bytesFetched) / 2 ** 20, 1),
    mibWrittenBack: round((after.bytesWrittenBack - before.bytesWrittenBack) / 2 ** 20, 1),
    pagesFetched: after.pagesFetched - before.pagesFetched,
    prefetchHits,
    probePages,
    prefetchHitRate: probePages > 0 ? round(prefetchHits / probePages, 3) : null,
    prefetchWaste: after.prefetchWaste - before.prefetchWaste,
    ghostProbes: after.ghostProbes.placed - before.ghostProbes.placed,
    ghostHits: after.ghostProbes.hits - before.ghostProbes.hits,
    evictions: after.evictions.clean + after.evictions.dirty - before.evictions.clean - before.evictions.dirty,
    meanServiceUs: faults > 0 ? round(serviceSum / faults, 1) : 0,
    budgetWaits: after.budgetWaits - before.budgetWaits,
    zappedPages: after.zappedPages - before.zappedPages,
    zapCalls: after.zapCalls - before.zapCalls,
    clockSweeps: after.clockSweeps - before.clockSweeps,
    blockSizes: Object.fromEntries(Object.entries(after.blockSizes).filter(([, n]) => n > 0)),
    serviceTimeUs,
  };
}

async function regionRun(
  spec: WorkloadSpec,
  bytes: number,
  policy: Policy,
  threads: number,
  params: Record<string, number>,
  o: SuiteOptions,
  timeline?: BlockSample[],
): Promise<{ run: VcpuRun; pager: PagerFigures }> {
  return withRegion(bytes, policy, o, async (region) => {
    let before: RegionStats | undefined;
    let after: RegionStats | undefined;
    const started = performance.now();
    // A pager that fails (a lane died, the memory node is gone) leaves vCPUs
    // blocked in faults: stop the run and close the region, which releases them.
    const thisRun = new RunCanceller();
    const unhook = o.canceller.onCancel(() => region.close());
    thisRun.onCancel(() => region.close());
    let failure: Error | undefined;
    // Split the pager's counters at the stage changes the vCPUs announce;
    // the vCPUs wait at each end of the measured phase (its clock stopped)
    // until the sample is taken, so the split is exact.
    const run = await runOnVcpus(spec.name, region.address, bytes, threads, params, o.seed, [o.canceller, thisRun], (stage) => {
      if (failure === undefined && region.failure !== undefined) {
        failure = region.failure;
        thisRun.cancel();
      }
      if (stage >= 2 && before === undefined) before = region.stats();
      if (stage >= 3 && after === undefined) after = region.stats();
      if (timeline !== undefined && stage === 2) timeline.push({ tMs: Math.round(performance.now() - started), stage, blockSizes: region.stats().blockSizes });
    }, () => region.settle()).finally(unhook);
    failure ??= region.failure;
    if (failure !== undefined && !o.canceller.cancelled) throw new Error(`${spec.name} ${policy}: the pager failed: ${failure.message}`);
    check(run, `${spec.name} ${policy}`, o);
    const end = after ?? region.stats();
    return { run, pager: pagerDelta(before ?? end, end, run.measuredMs / 1000) };
  });
}

export async function runSuite(options: SuiteOptions): Promise<SuiteReport> {
  if (options.pool !== undefined) return runSuiteOn(options);
  const pool = createPagerPool();
  try {
    return await runSuiteOn({ ...options, pool });
  } finally {
    await pool.close();
  }
}

async function runSuiteOn(o: SuiteOptions): Promise<SuiteReport> {
  const began = performance.now();
  const specs = o.workloads.map((n) => findWorkload(n)!);
  const scaling = o.scalingWorkload === undefined ? undefined : findWorkload(o.scalingWorkload);
  // Grows when a workload takes more repeats (moreRepeats).
  let total = specs.length * (1 + o.repeat * POLICIES.length) + (scaling === undefined ? 0 : 2 * o.vcpus);
  o.step?.({ what: 'warming the pager lanes', done: false, index: 0, total });
  const laneNice = await warmLanes(o);
  let index = 0;
  const step = async <T>(what: string, body: () => Promise<T>): Promise<T> => {
    o.step?.({ what, done: false, index, total });
    const result = await body();
    index++;
    o.step?.({ what, done: true, index, total });
    return result;
  };
  const reports: WorkloadReport[] = [];
  for (const spec of specs) {
    const bytes = footprintOf(spec, o);
    const params = spec.params(bytes, o.quick);
    const local = await step(`${spec.name} local-only`, () => localRun(spec, bytes, o.vcpus, params, o));
    const policies: PolicyRun[] = [];
    let blockTimeline: BlockSample[] | undefined;
    // Interleaved (every policy once, then again), so that a slow spell of
    // the machine spreads over the policies instead of landing on one; every
    // other repeat in reverse order (ABBA), so that a drift of the machine
    // over a repeat, or what a run leaves behind for the next, does not
    // always favour the same policy.
    const runs = new Map<Policy, Array<Awaited<ReturnType<typeof regionRun>>>>(POLICIES.map((p) => [p, []]));
    const started = performance.now();
    for (let r = 0; r < Math.max(o.repeat, o.moreRepeats?.max ?? 0); r++) {
      if (r >= o.repeat && (r - o.repeat) % 2 === 0) {
        const spent = performance.now() - started;
        if (o.moreRepeats === undefined || r + 2 > o.moreRepeats.max || spent + (2 * spent) / r > o.moreRepeats.withinMs) break;
        total += 2 * POLICIES.length;
      }
      for (const policy of r % 2 === 0 ? RUN_ORDER : [...RUN_ORDER].reverse()) {
        const timeline = spec.name === 'phases' && policy === 'elastic' && r === 0 ? [] : undefined;
        const of = r < o.repeat ? `/${o.repeat}` : '';
        const what = o.repeat > 1 || o.moreRepeats !== undefined ? `${spec.name} ${policy} (${r + 1}${of})` : `${spec.name} ${policy}`;
        runs.get(policy)!.push(await step(what, () => regionRun(spec, bytes, policy, o.vcpus, params, o, timeline)));
        if (timeline !== undefined) blockTimeline = timeline;
      }
    }
    for (const policy of POLICIES) {
      const all = runs.get(policy)!;
      // The median run; of an even count (--repeat 4), the lower middle: a
      // shared machine's interference only ever slows a run.
      const { run, pager } = [...all].sort((a, b) => a.run.measuredMs - b.run.measuredMs)[(all.length - 1) >> 1];
      policies.push({
        policy,
        measuredMs: round(run.measuredMs, 2),
        runsMs: all.map((x) => round(x.run.measuredMs, 2)),
        initMs: round(run.initMs, 1),
        verifyMs: round(run.verifyMs, 1),
        slowdown: round(run.measuredMs / local.measuredMs - 1, 4),
        verified: run.ok,
        pager,
      });
    }
    const fixed = policies.filter((p) => p.policy !== 'elastic');
    const best = fixed.reduce((a, b) => (b.slowdown < a.slowdown ? b : a));
    const elastic = policies.find((p) => p.policy === 'elastic')!;
    const paired = elastic.runsMs.map((ms, r) => ms / best.runsMs[r]).sort((a, b) => a - b);
    const seconds = local.measuredMs / 1000;
    reports.push({
      name: spec.name,
      kind: spec.kind,
      summary: spec.summary,
      footprintBytes: bytes,
      localBytes: Math.floor((bytes * o.localRatio) / 4096) * 4096,
      vcpus: o.vcpus,
      params,
      local: {
        measuredMs: round(local.measuredMs, 2),
        initMs: round(local.initMs, 1),
        verified: local.ok,
        opsDone: local.opsDone,
        bytesTouchedPerSec: Math.round(local.bytesTouched / seconds),
        distinctPagesPerSec: Math.round(local.distinctPages / seconds),
      },
      policies,
      bestFixed: best.policy,
      elasticVsBestFixed: round(elastic.slowdown - best.slowdown, 4),
      elasticTimeRatio: round(median(paired), 3),
      elasticTimeRatioRange: [round(paired[0], 3), round(paired[paired.length - 1], 3)],
      blockTimeline,
    });
  }
  let scalingReport: SuiteReport['scaling'];
  if (scaling !== undefined) {
    const bytes = footprintOf(scaling, o);
    const params = scaling.params(bytes, o.quick);
    const points: ScalingPoint[] = [];
    for (let n = 1; n <= o.vcpus; n++) {
      const local = await step(`scaling ${scaling.name} ${n} vCPU local-only`, () => localRun(scaling, bytes, n, params, o));
      const { run } = await step(`scaling ${scaling.name} ${n} vCPU elastic`, () => regionRun(scaling, bytes, 'elastic', n, params, o));
      points.push({
        vcpus: n,
        localMs: round(local.measuredMs, 2),
        regionMs: round(run.measuredMs, 2),
        slowdown: round(run.measuredMs / local.measuredMs - 1, 4),
        localOpsPerSec: Math.round(local.opsDone / (local.measuredMs / 1000)),
        regionOpsPerSec: Math.round(run.opsDone / (run.measuredMs / 1000)),
      });
    }
    scalingReport = { workload: scaling.name, policy: 'elastic', points };
  }
  const averageOf = (kinds: WorkloadKind[]): Record<Policy, number> | null => {
    const chosen = reports.filter((r) => kinds.includes(r.kind));
    if (chosen.length === 0) return null;
    const out = {} as Record<Policy, number>;
    for (const policy of POLICIES) out[policy] = round(mean(chosen.map((r) => r.policies.find((p) => p.policy === policy)!.slowdown)), 4);
    return out;
  };
  const suiteAverage = averageOf(['cloud', 'kernel']) ?? averageOf(['adversarial'])!;
  const bestFixed = FIXED_POLICIES.reduce((a, b) => (suiteAverage[b] < suiteAverage[a] ? b : a));
  return {
    machine: { cpus: os.availableParallelism(), memoryBytes: os.totalmem(), kernel: os.release(), node: process.version, laneNice },
    summary: {
      localRatio: o.localRatio,
      transport: o.transport,
      suiteAverageSlowdown: suiteAverage,
      cloudAverageSlowdown: averageOf(['cloud']),
      kernelAverageSlowdown: averageOf(['kernel']),
      bestFixed,
      worstElasticTimeRatio: worstRatio(reports.filter((r) => r.kind !== 'adversarial')),
      allVerified: reports.every((r) => r.local.verified && r.policies.every((p) => p.verified)),
    },
    workloads: reports,
    scaling: scalingReport,
    durationSec: round((performance.now() - began) / 1000, 1),
  };
}

/** The warm-up region's size and local share: a few thousand faults per policy, evictions among them. */
const WARM_BYTES = 16 * 2 ** 20;
const WARM_LOCAL_RATIO = 0.25;

/**
 * Puts every policy's code through the pool's lanes and reclaimer before
 * anything is measured: a small region per policy, scanned twice and then
 * touched at random from this thread. V8 compiles a function once it has run
 * often enough; without this the suite's first elastic region ran its
 * measured phase on code that only the fixed blocks' regions had warmed
 * (quick gups: 238-261 ms in the first repeat, 170-200 in the next ones).
 */
async function warmLanes(o: SuiteOptions): Promise<number | null> {
  let laneNice: number | null = null;
  for (const policy of POLICIES) {
    await withRegion(WARM_BYTES, policy, { ...o, localRatio: WARM_LOCAL_RATIO }, async (region) => {
      laneNice = region.laneNice ?? null;
      const words = new Int32Array(region.view());
      const pages = words.length / 1024;
      for (let pass = 0; pass < 2; pass++) for (let p = 0; p < pages; p++) words[p * 1024] += p;
      let x = 1;
      for (let i = 0; i < 4 * pages; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        words[(x % pages) * 1024 + 1] += 1;
      }
    });
  }
  return laneNice;
}

function worstRatio(reports: WorkloadReport[]): { workload: string; ratio: number } | null {
  if (reports.length === 0) return null;
  const worst = reports.reduce((a, b) => (b.elasticTimeRatio > a.elasticTimeRatio ? b : a));
  return { workload: worst.name, ratio: worst.elasticTimeRatio };
}

/** The median of sorted values. */
function median(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
