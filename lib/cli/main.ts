/**
 * The `dmem` command line: argument parsing and output only. Every command
 * calls into lib/. Errors print their message and set a non-zero exit code;
 * nothing here calls process.exit() while work may still be running.
 */
import { parseArgs } from 'node:util';
import { runInfo } from './info-command';

const USAGE = `usage: dmem <command> [options]

commands:
  info [--json]    what this machine offers dmem: userfaultfd mode and
                   features, RDMA devices, memlock limit, hugepages
  help             this text
`;

export function main(argv: readonly string[]): number {
  const [command, ...rest] = argv;
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  switch (command) {
    case 'info': {
      const { values } = parseArgs({ args: [...rest], options: { json: { type: 'boolean', default: false } } });
      return runInfo(values.json === true, out);
    }
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
  try {
    process.exitCode = main(argv);
  } catch (error) {
    const e = error as Error & { code?: string };
    process.stderr.write(`dmem: ${e.message}\n`);
    process.exitCode = e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_DMEM_INVALID_OPTION' ? 2 : 1;
  }
}
