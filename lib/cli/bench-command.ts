/** `dmem bench <suite>`: benchmarks. Output: a table, and JSON with --json. */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { OptionError } from '../errors';
import { parseHostPort } from '../node/memory-node';
import { renderTransportTable, runTransportBench, type BenchTransport } from '../bench/transport-bench';
import { runBenchPager } from './bench-pager-command';
import { runBenchVerbs } from './bench-verbs-command';
import { runBenchSuite } from './bench-suite-command';
import { runBenchPf } from './bench-pf-command';

export const BENCH_USAGE = `usage: dmem bench pager [options]     (dmem bench pager --help)
       dmem bench transport [options]
       dmem bench verbs [options] [read|write] [HOST]   (dmem bench verbs --help)

  --remote HOST:PORT     measure this memory node for its own transport
                         (others run in child memory nodes on loopback)
  --token TOKEN          the remote node's token (default: $DMEM_TOKEN)
  --transports LIST      comma-separated: tcp,shm,file (default all three)
  --iterations N         measured operations per configuration (default 2000)
  --json FILE            write every figure as JSON
`;

export async function runBench(args: string[], out: (line: string) => void): Promise<number> {
  const [suite, ...rest] = args;
  if (suite === undefined || suite.startsWith('--')) return runBenchSuite(args, out);
  if (suite === 'pager') return runBenchPager(rest, out);
  if (suite === 'pf') return runBenchPf(rest, out);
  if (suite === 'verbs') return runBenchVerbs(rest, out);
  if (suite !== 'transport') {
    if (suite === undefined || suite === '--help') {
      out(BENCH_USAGE);
      return suite === undefined ? 2 : 0;
    }
    throw new OptionError('bench', `unknown suite ${JSON.stringify(suite)}; available: transport, pager, pf, verbs`);
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      remote: { type: 'string' },
      token: { type: 'string' },
      transports: { type: 'string', default: 'tcp,shm,file' },
      iterations: { type: 'string', default: '2000' },
      json: { type: 'string' },
    },
  });
  const transports = (values.transports ?? '').split(',').map((t) => t.trim()) as BenchTransport[];
  for (const t of transports) {
    if (!['tcp', 'shm', 'file'].includes(t)) throw new OptionError('transports', `unknown transport ${JSON.stringify(t)}; expected tcp, shm or file`);
  }
  const iterations = Number(values.iterations);
  if (!Number.isInteger(iterations) || iterations < 10 || iterations > 10_000_000) {
    throw new OptionError('iterations', `expected an integer from 10 to 10000000, got ${JSON.stringify(values.iterations)}`);
  }
  const report = await runTransportBench({
    remote: values.remote === undefined ? undefined : parseHostPort(values.remote, 'remote'),
    token: values.token ?? process.env.DMEM_TOKEN,
    transports,
    sizes: [4096, 65536],
    inflights: [1, 16],
    iterations,
    progress: (line) => process.stderr.write(`  ${line}\n`),
  });
  for (const line of renderTransportTable(report)) out(line);
  if (values.json !== undefined) {
    fs.writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    out(`wrote ${values.json}`);
  }
  return 0;
}
