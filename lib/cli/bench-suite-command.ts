/**
 * `dmem bench` (no suite): the main job. Runs the workload suite local-only
 * and on dmem regions at a local ratio, prints a table and the headline, and
 * writes JSON and an HTML report on request. Every option is checked before
 * anything starts; Ctrl-C stops the vCPUs, the regions and the embedded
 * memory node and removes what the run created.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { OptionError } from '../errors';
import { parseHostPort } from '../node/memory-node';
import { parseSize } from '../util/size';
import type { RdmaOptions } from '../transport/remote-session';
import { spawnMemoryNode, type ChildServer } from '../bench/child-server';
import { renderHtmlReport } from '../bench/suite/html-report';
import { CancelledError, runSuite, type SuiteReport } from '../bench/suite/suite';
import { headline, renderSuiteTable } from '../bench/suite/table';
import { RunCanceller } from '../bench/suite/vcpu-runner';
import { findWorkload, WORKLOAD_NAMES } from '../bench/suite/workloads';

export const BENCH_SUITE_USAGE = `usage: dmem bench [options]

Runs each workload local-only (plain memory), then on a dmem region whose
local memory is --local-ratio of its footprint, with fixed blocks 4k, 16k,
64k and elastic blocks; then vCPU scaling. Prints slowdown against
local-only and what the pager did; ends with the suite average.

  --quick                a smaller run (under 3 minutes on 2 cores)
  --local-ratio R        local memory / footprint, 0 < R < 1 (default 0.5)
  --workloads LIST       comma-separated, from: ${WORKLOAD_NAMES.join(', ')}
  --vcpus N              threads running each workload (default: cores)
  --footprint BYTES      every workload's footprint (default per workload)
  --repeat N             region runs per workload and policy, median reported
                         (default: 3, and up to 9 for workloads whose runs are short)
  --transport KIND       the embedded memory node's: shm | tcp | file | verbs (default shm)
  --remote HOST:PORT     use this memory node instead of an embedded one
  -d, --ib-dev NAME      verbs: the RDMA device (default: the first with an active port)
  -x, --gid-index N      verbs: the GID index (default: the RoCE v2 GID of the netdev's IPv4 address)
  --token TOKEN          its token (default: $DMEM_TOKEN)
  --json FILE            every figure, with a top-level summary
  --report FILE.html     a self-contained report with charts

Other suites: dmem bench pager | transport | verbs (dmem bench pager --help)
`;

const SLAB = 16 * 2 ** 20;
/**
 * Without --repeat: 3 repeats, and more (up to MAX_REPEATS) while the next
 * is expected to end within this long of the workload's first region run.
 * Without --quick, the cloud-shaped workloads (10-13 s a repeat of all four
 * policies) so take 5, not 3: a median of 3 moved their elastic-to-best
 * ratio by 5-10% from one run to the next. A default run takes ~12 min.
 */
const REPEAT_WITHIN_MS = { quick: 15_000, normal: 60_000 };
const MAX_REPEATS = 9;

interface Plan {
  workloads: string[];
  quick: boolean;
  localRatio: number;
  vcpus: number;
  lanes: number;
  repeat: number;
  /** Without --repeat: more repeats for workloads whose runs are short (SuiteOptions.moreRepeats). */
  moreRepeats?: { max: number; withinMs: number };
  footprint?: number;
  transport: 'shm' | 'tcp' | 'file' | 'verbs';
  remote?: { host: string; port: number };
  rdma?: RdmaOptions;
  token?: string;
  json?: string;
  report?: string;
  maxFootprint: number;
}

/** Parses and checks every option; throws OptionError before anything starts. */
export function planBenchSuite(args: string[]): Plan | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      'local-ratio': { type: 'string', default: '0.5' },
      workloads: { type: 'string' },
      vcpus: { type: 'string' },
      lanes: { type: 'string' },
      repeat: { type: 'string' },
      footprint: { type: 'string' },
      transport: { type: 'string', default: 'shm' },
      remote: { type: 'string' },
      'ib-dev': { type: 'string', short: 'd' },
      'gid-index': { type: 'string', short: 'x' },
      token: { type: 'string' },
      json: { type: 'string' },
      report: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const ratioText = values['local-ratio'] ?? '0.5';
  const localRatio = Number(ratioText);
  if (!/^\s*[\d.]+(e-?\d+)?\s*$/i.test(ratioText) || !(localRatio > 0 && localRatio < 1)) {
    throw new OptionError('local-ratio', `expected a fraction strictly between 0 and 1 (0.5 = half the footprint local), got ${JSON.stringify(ratioText)}`);
  }
  const workloads = values.workloads === undefined ? [...WORKLOAD_NAMES] : values.workloads.split(',').map((w) => w.trim()).filter((w) => w !== '');
  const unknown = workloads.filter((w) => findWorkload(w) === undefined);
  if (unknown.length > 0 || workloads.length === 0) {
    throw new OptionError('workloads', `unknown workload${unknown.length === 1 ? '' : 's'} ${unknown.map((w) => JSON.stringify(w)).join(', ') || '(none given)'}; valid: ${WORKLOAD_NAMES.join(', ')}`);
  }
  const cores = os.availableParallelism();
  const vcpus = integer('vcpus', values.vcpus, cores, 1, 64);
  const lanes = integer('lanes', values.lanes, cores, 1, 64);
  const repeat = integer('repeat', values.repeat, 3, 1, 99);
  const transport = values.transport as Plan['transport'];
  if (!['shm', 'tcp', 'file', 'verbs'].includes(transport)) throw new OptionError('transport', `expected shm, tcp, file or verbs, got ${JSON.stringify(values.transport)}`);
  const remote = values.remote === undefined ? undefined : parseHostPort(values.remote, 'remote');
  if (remote !== undefined && values.transport !== 'shm' && args.includes('--transport')) {
    throw new OptionError('transport', 'a remote memory node serves its own transport; drop --transport or --remote');
  }
  const rdmaGiven = values['ib-dev'] !== undefined || values['gid-index'] !== undefined;
  if (rdmaGiven && transport !== 'verbs' && remote === undefined) {
    throw new OptionError('ib-dev', 'the RDMA device and GID index are for --transport verbs (or a --remote verbs node); add --transport verbs');
  }
  const gidIndex = values['gid-index'] === undefined ? undefined : integer('gid-index', values['gid-index'], 0, 0, 65535);
  const rdma = transport === 'verbs' || rdmaGiven ? { device: values['ib-dev'], gidIndex } : undefined;
  const quick = values.quick === true;
  let footprint: number | undefined;
  if (values.footprint !== undefined) {
    footprint = Math.ceil(parseSize(values.footprint, 'footprint') / (256 * 1024)) * 256 * 1024;
    if (footprint < 4 * 2 ** 20) throw new OptionError('footprint', `expected at least 4M, got ${values.footprint}`);
  }
  const maxFootprint = footprint ?? Math.max(...workloads.map((w) => (quick ? findWorkload(w)!.footprint.quick : findWorkload(w)!.footprint.normal)));
  // At the peak the machine holds the embedded node's pool (the footprint),
  // the region's local memory, and nothing else of the run: baseline memory is
  // freed before the region runs.
  const peak = (remote === undefined ? maxFootprint : 0) + Math.max(maxFootprint * localRatio, remote === undefined ? 0 : maxFootprint) + 256 * 2 ** 20;
  const available = os.freemem();
  if (peak > available) {
    throw new OptionError(
      'footprint',
      `a footprint of ${fmtMiB(maxFootprint)} needs about ${fmtMiB(peak)} of memory on this machine (the memory node's pool plus the local share), but only ${fmtMiB(available)} is available`,
    );
  }
  if (maxFootprint * localRatio < 2 * 2 ** 20) throw new OptionError('local-ratio', `local memory of ${fmtMiB(maxFootprint * localRatio)} is too small for the pager; raise --local-ratio or --footprint`);
  const moreRepeats = values.repeat === undefined ? { max: MAX_REPEATS, withinMs: quick ? REPEAT_WITHIN_MS.quick : REPEAT_WITHIN_MS.normal } : undefined;
  return { workloads, quick, localRatio, vcpus, lanes, repeat, moreRepeats, footprint, transport, remote, rdma, token: values.token ?? process.env.DMEM_TOKEN, json: values.json, report: values.report, maxFootprint };
}

function integer(option: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new OptionError(option, `expected an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

function fmtMiB(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${Math.round(bytes / 2 ** 20)} MiB`;
}

/** One progress line per step, or a bar redrawn in place on a terminal. */
function progressReporter(): { step(e: { what: string; done: boolean; index: number; total: number }): void; end(): void } {
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  let drawn = false;
  return {
    step(e) {
      const elapsed = ((performance.now() - started) / 1000).toFixed(0);
      if (tty) {
        const width = 30;
        const filled = Math.round((e.index / e.total) * width);
        process.stderr.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${e.index}/${e.total} ${elapsed}s ${e.what}`);
        drawn = true;
      } else if (!e.done) {
        process.stderr.write(`  [${e.index + 1}/${e.total}] ${elapsed}s ${e.what}\n`);
      }
    },
    end() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}

export async function runBenchSuite(args: string[], out: (line: string) => void): Promise<number> {
  const plan = planBenchSuite(args);
  if (plan === 'help') {
    out(BENCH_SUITE_USAGE);
    return 0;
  }
  const canceller = new RunCanceller();
  const onSigint = (): void => {
    process.stderr.write('\ndmem bench: interrupted, stopping the vCPUs, regions and memory node\n');
    canceller.cancel();
  };
  process.once('SIGINT', onSigint);
  const progress = progressReporter();
  let node: ChildServer | undefined;
  let tempDir: string | undefined;
  let report: SuiteReport;
  try {
    let endpoint: { host: string; port: number; token?: string };
    let transport: string = plan.transport;
    if (plan.remote === undefined) {
      const pool = Math.ceil(plan.maxFootprint / SLAB) * SLAB + SLAB;
      const extra: string[] = [];
      if (plan.transport === 'file') {
        tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmem-bench-'));
        extra.push('--file', path.join(tempDir, 'pool'));
      }
      if (plan.rdma?.device !== undefined) extra.push('--device', plan.rdma.device);
      if (plan.rdma?.gidIndex !== undefined) extra.push('--gid-index', String(plan.rdma.gidIndex));
      node = await spawnMemoryNode(['--size', String(pool), '--slab-size', String(SLAB), '--transport', plan.transport, ...extra]);
      endpoint = { host: node.host, port: node.port };
    } else {
      endpoint = { ...plan.remote, token: plan.token };
      transport = `remote ${plan.remote.host}:${plan.remote.port}`;
    }
    if (canceller.cancelled) throw new CancelledError();
    const scalingWorkload = ['kvcache', ...plan.workloads].find((w) => plan.workloads.includes(w) && w !== 'gups') ?? plan.workloads[0];
    report = await runSuite({
      workloads: plan.workloads,
      footprint: plan.footprint,
      quick: plan.quick,
      localRatio: plan.localRatio,
      vcpus: plan.vcpus,
      lanes: plan.lanes,
      repeat: plan.repeat,
      moreRepeats: plan.moreRepeats,
      transport,
      node: endpoint,
      rdma: plan.rdma,
      scalingWorkload: plan.vcpus > 1 ? scalingWorkload : undefined,
      seed: 42,
      canceller,
      step: (e) => progress.step(e),
    });
  } catch (error) {
    progress.end();
    if (error instanceof CancelledError || canceller.cancelled) {
      process.stderr.write('dmem bench: stopped\n');
      return 130;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
    await node?.stop();
    if (tempDir !== undefined) fs.rmSync(tempDir, { recursive: true, force: true });
  }
  progress.end();
  for (const line of renderSuiteTable(report).slice(0, -1)) out(line);
  if (plan.json !== undefined) {
    fs.writeFileSync(plan.json, `${JSON.stringify(report, null, 2)}\n`);
    out(`wrote ${plan.json}`);
  }
  if (plan.report !== undefined) {
    fs.writeFileSync(plan.report, renderHtmlReport(report));
    out(`wrote ${plan.report}`);
  }
  out(headline(report));
  return report.summary.allVerified ? 0 : 1;
}
