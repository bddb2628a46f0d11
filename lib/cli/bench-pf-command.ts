/**
 * `dmem bench pf`: UMap's pfbenchmark patterns (one word touched per page,
 * sequential and shuffled, read and write; local budget = half the working
 * set) at 4 KiB and 64 KiB blocks, in ns per page touched and pages per second (at 4 KiB blocks one fault per page), so
 * that dmem and UMap can be compared on one machine with the same
 * parameters. Reuses bench/pager's trials (a fresh region per trial; N
 * touching threads, each with one slice of the pages), beside the native
 * floor pager.
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { OptionError } from '../errors';
import { parseSize } from '../util/size';
import { runPagerBench, type PagerBenchReport } from '../bench/pager-bench';

export const BENCH_PF_USAGE = `usage: dmem bench pf [options]

  --working-set BYTES    bytes touched per trial (default 64M); local = half
  --transport KIND       shm | tcp (default shm)
  --repeat N             trials per configuration; medians (default 3)
  -t, --threads N        touching threads, each with one slice of the pages (default 1)
  --json FILE            write every figure as JSON
`;

export function renderPfTable(report: PagerBenchReport): string[] {
  const lines = [`${'pattern'.padEnd(16)}${'pager'.padEnd(7)}${'block'.padStart(7)}${'ns/page'.padStart(11)}${'pages/s'.padStart(11)}`];
  for (const t of report.trials) {
    lines.push(`${t.pattern.padEnd(16)}${(t.pager === 'ts' ? 'dmem' : 'floor').padEnd(7)}${t.block.padStart(7)}${String(t.nsPerFault).padStart(11)}${String(t.pagesPerSec).padStart(11)}`);
  }
  lines.push(`working set ${report.workingSetBytes / 2 ** 20} MiB, local ${report.localBytes / 2 ** 20} MiB, ${report.transport}; ${report.threads} touching thread${report.threads === 1 ? '' : 's'} (UMap pfbenchmark: compare with its -t ${report.threads})`);
  return lines;
}

export async function runBenchPf(args: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'working-set': { type: 'string', default: '64M' },
      transport: { type: 'string', default: 'shm' },
      repeat: { type: 'string', default: '3' },
      threads: { type: 'string', short: 't', default: '1' },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    out(BENCH_PF_USAGE);
    return 0;
  }
  const workingSetBytes = parseSize(values['working-set'] ?? '64M', 'working-set');
  if (workingSetBytes < 4 * 2 ** 20 || workingSetBytes % (2 * 2 ** 20) !== 0) throw new OptionError('working-set', `expected a multiple of 2M of at least 4M, got ${values['working-set']}`);
  const transport = values.transport as 'shm' | 'tcp';
  if (transport !== 'shm' && transport !== 'tcp') throw new OptionError('transport', `expected shm or tcp, got ${JSON.stringify(values.transport)}`);
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 50) throw new OptionError('repeat', `expected an integer from 1 to 50, got ${values.repeat}`);
  const threads = Number(values.threads);
  if (!/^\d+$/.test(values.threads ?? '') || threads < 1 || threads > 64) throw new OptionError('threads', `expected an integer from 1 to 64, got ${JSON.stringify(values.threads)}`);
  const report = await runPagerBench({
    threads,
    workingSetBytes,
    transport,
    blocks: ['4k', '64k'],
    floorBlocks: ['4k', '64k'],
    repeat,
    progress: (line) => process.stderr.write(`  ${line}\n`),
  });
  for (const line of renderPfTable(report)) out(line);
  if (values.json !== undefined) {
    fs.writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    out(`wrote ${values.json}`);
  }
  return 0;
}
