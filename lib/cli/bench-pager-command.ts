/** `dmem bench pager`: the TypeScript pager against the native floor (bench/pager). */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { OptionError } from '../errors';
import { parseSize } from '../util/size';
import { PATTERNS, renderPagerTable, runPagerBench, type Pattern } from '../bench/pager-bench';

export const BENCH_PAGER_USAGE = `usage: dmem bench pager [options]

  --working-set BYTES    bytes touched per trial (default 32M); local = half
  --transport KIND       shm | tcp (default shm)
  --repeat N             trials per configuration; medians reported (default 3)
  --patterns LIST        comma-separated, from: ${PATTERNS.join(', ')} (default: all)
  --replacement KIND     clock | fifo (default clock)
  --dirty-tracking KIND  wp | always (default wp)
  --json FILE            write every figure as JSON
`;

export async function runBenchPager(args: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'working-set': { type: 'string', default: '32M' },
      transport: { type: 'string', default: 'shm' },
      repeat: { type: 'string', default: '3' },
      patterns: { type: 'string' },
      replacement: { type: 'string', default: 'clock' },
      'dirty-tracking': { type: 'string', default: 'wp' },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    out(BENCH_PAGER_USAGE);
    return 0;
  }
  const workingSetBytes = parseSize(values['working-set'] ?? '32M', 'working-set');
  if (workingSetBytes < 4 * 2 ** 20 || workingSetBytes % (2 * 2 ** 20) !== 0) {
    throw new OptionError('working-set', `expected a multiple of 2M of at least 4M, got ${values['working-set']}`);
  }
  const transport = values.transport as 'shm' | 'tcp';
  if (transport !== 'shm' && transport !== 'tcp') throw new OptionError('transport', `expected shm or tcp, got ${JSON.stringify(values.transport)}`);
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 50) throw new OptionError('repeat', `expected an integer from 1 to 50, got ${values.repeat}`);
  const patterns = values.patterns === undefined ? PATTERNS : values.patterns.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const unknown = patterns.filter((p) => !PATTERNS.includes(p as Pattern));
  if (unknown.length > 0 || patterns.length === 0) {
    throw new OptionError('patterns', `unknown pattern${unknown.length === 1 ? '' : 's'} ${unknown.map((p) => JSON.stringify(p)).join(', ') || '(none given)'}; valid: ${PATTERNS.join(', ')}`);
  }
  const replacement = values.replacement as 'clock' | 'fifo';
  if (replacement !== 'clock' && replacement !== 'fifo') throw new OptionError('replacement', `expected clock or fifo, got ${JSON.stringify(values.replacement)}`);
  const dirtyTracking = values['dirty-tracking'] as 'wp' | 'always';
  if (dirtyTracking !== 'wp' && dirtyTracking !== 'always') throw new OptionError('dirty-tracking', `expected wp or always, got ${JSON.stringify(values['dirty-tracking'])}`);
  const report = await runPagerBench({
    replacement,
    dirtyTracking,
    workingSetBytes,
    transport,
    patterns: patterns as Pattern[],
    blocks: ['4k', '64k', 'elastic'],
    floorBlocks: ['4k', '64k'],
    repeat,
    progress: (line) => process.stderr.write(`  ${line}\n`),
  });
  for (const line of renderPagerTable(report)) out(line);
  if (values.json !== undefined) {
    fs.writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    out(`wrote ${values.json}`);
  }
  return 0;
}
