/**
 * The `dmem` command line: argument parsing and output only. Every command
 * calls into lib/. Errors print their message and set a non-zero exit code;
 * nothing here calls process.exit().
 */
import { parseArgs } from 'node:util';
import { runInfo } from './info-command';
import { runServe } from './serve-command';
import { runBench } from './bench-command';

const USAGE = `usage: dmem <command> [options]

commands:
  info [--json]      what this machine offers dmem: userfaultfd mode and
                     features, RDMA devices, memlock limit, hugepages
  serve [options]    run a memory node (dmem serve --help)
  bench transport    data-path latency and throughput per transport,
                     against a raw socket baseline (dmem bench --help)
  bench verbs        RDMA READ/WRITE latency and bandwidth through a verbs
                     lane, perftest's flags (dmem bench --help)
  help               this text
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  switch (command) {
    case 'info': {
      const { values } = parseArgs({ args: [...rest], options: { json: { type: 'boolean', default: false } } });
      return runInfo(values.json === true, out);
    }
    case 'serve':
      return runServe([...rest], out);
    case 'bench':
      return runBench([...rest], out);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`dmem: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

export function run(argv: readonly string[]): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error & { code?: string }) => {
      process.stderr.write(`dmem: ${error.message}\n`);
      const usage = error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || error.code === 'ERR_DMEM_INVALID_OPTION' || error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE';
      process.exitCode = usage ? 2 : 1;
    },
  );
}
