/** `dmem bench verbs`: perftest-style flags, server without a host, client with one. */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { OptionError } from '../errors';
import { DEFAULT_BENCH_PORT, renderVerbsReport, runVerbsBenchClient, runVerbsBenchServer } from '../verbs/verbs-bench';

export const BENCH_VERBS_USAGE = `usage: dmem bench verbs [options] [read|write] [HOST]

One-sided RDMA READ (default) or WRITE through a verbs lane, with perftest's
flags. Without HOST it is the server (a verbs memory node that exits after one
client); with HOST the client, which prints latency (p50, p99) and bandwidth.

  -d, --ib-dev NAME      RDMA device (default: the first with an active port)
  -i, --ib-port N        port of the device (default 1)
  -x, --gid-index N      GID index (default: the RoCE v2 GID of the netdev's IPv4 address)
  -s, --size BYTES       bytes per operation (default 65536, as perftest)
  -n, --iters N          operations per run (default 1000)
  -t, --tx-depth N       operations in flight for the bandwidth run (default 128)
  -p, --port N           control port (default ${DEFAULT_BENCH_PORT})
  --bind ADDR            server: listen address (default 127.0.0.1; others need --token)
  --spin-us N            client: busy-poll budget before sleeping (default: the library's)
  --token TOKEN          (default: $DMEM_TOKEN)
  --json FILE            client: write the figures as JSON
`;

export async function runBenchVerbs(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'ib-dev': { type: 'string', short: 'd' },
      'ib-port': { type: 'string', short: 'i' },
      'gid-index': { type: 'string', short: 'x' },
      size: { type: 'string', short: 's', default: '65536' },
      iters: { type: 'string', short: 'n', default: '1000' },
      'tx-depth': { type: 'string', short: 't', default: '128' },
      port: { type: 'string', short: 'p', default: String(DEFAULT_BENCH_PORT) },
      bind: { type: 'string' },
      'spin-us': { type: 'string' },
      token: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(BENCH_VERBS_USAGE);
    return 0;
  }
  const rest = [...positionals];
  let op: 'read' | 'write' = 'read';
  if (rest[0] === 'read' || rest[0] === 'write') op = rest.shift() as 'read' | 'write';
  if (rest.length > 1) throw new OptionError('bench verbs', `expected [read|write] [HOST], got ${JSON.stringify(positionals.join(' '))}`);
  const options = {
    op,
    host: rest[0],
    port: int('port', values.port, 1, 65535)!,
    device: values['ib-dev'],
    ibPort: int('ib-port', values['ib-port'], 1, 255),
    gidIndex: int('gid-index', values['gid-index'], 0, 65535),
    size: int('size', values.size, 1, 1 << 20)!,
    iterations: int('iters', values.iters, 10, 100_000_000)!,
    txDepth: int('tx-depth', values['tx-depth'], 1, 4096)!,
    spinUs: int('spin-us', values['spin-us'], 0, 1_000_000),
    token: values.token ?? process.env.DMEM_TOKEN,
    bind: values.bind,
    log: out,
  };
  if (options.host === undefined) {
    await runVerbsBenchServer(options);
    return 0;
  }
  const report = await runVerbsBenchClient(options);
  for (const line of renderVerbsReport(report)) out(line);
  if (values.json !== undefined) {
    fs.writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    out(`wrote ${values.json}`);
  }
  return 0;
}

function int(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new OptionError(name, `expected an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return n;
}
