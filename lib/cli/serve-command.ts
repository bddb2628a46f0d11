/**
 * `dmem serve`: run a memory node until SIGINT or SIGTERM. One log line per
 * client connect, disconnect and lease; stats on SIGUSR1 and at exit.
 */
import { parseArgs } from 'node:util';
import { OptionError } from '../errors';
import { DEFAULT_LISTEN, MemoryNode } from '../node/memory-node';
import { formatBytes } from '../util/size';

export const SERVE_USAGE = `usage: dmem serve [options]

  --listen HOST:PORT     control listener (default ${DEFAULT_LISTEN})
  --size BYTES           pool size, e.g. 512M or 4G (default 1G)
  --slab-size BYTES      bytes per lease (default 64M)
  --token TOKEN          required from clients (default: $DMEM_TOKEN); needed
                         when listening on a non-loopback address
  --transport KIND       tcp | shm | file | verbs (default tcp)
  --file PATH            keep the pool in PATH (an SSD or NVMe file) instead of DRAM
  --device NAME          verbs: RDMA device (default: the first with an active port)
  --ib-port N            verbs: port of the device (default 1)
  --gid-index N          verbs: GID index (default: the RoCE v2 GID carrying the
                         netdev's IPv4 address, found by value; see \`dmem info\`)
  --lease-timeout SEC    free a silent client's slabs after SEC seconds (default 10)
  --stop-with-parent     stop when stdin closes (for a parent process that may die)
`;

function stamp(line: string): string {
  return `${new Date().toISOString()} dmem serve: ${line}`;
}

export async function runServe(args: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      listen: { type: 'string', default: DEFAULT_LISTEN },
      size: { type: 'string', default: '1G' },
      'slab-size': { type: 'string', default: '64M' },
      token: { type: 'string' },
      transport: { type: 'string', default: 'tcp' },
      file: { type: 'string' },
      device: { type: 'string' },
      'ib-port': { type: 'string' },
      'gid-index': { type: 'string' },
      'lease-timeout': { type: 'string', default: '10' },
      'stop-with-parent': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    out(SERVE_USAGE);
    return 0;
  }
  const leaseTimeout = Number(values['lease-timeout']);
  if (!Number.isFinite(leaseTimeout) || leaseTimeout <= 0) {
    throw new OptionError('lease-timeout', `expected a positive number of seconds, got ${JSON.stringify(values['lease-timeout'])}`);
  }
  const rdmaFlags = values.device !== undefined || values['ib-port'] !== undefined || values['gid-index'] !== undefined;
  const rdma = rdmaFlags
    ? {
        device: values.device,
        port: integerFlag('ib-port', values['ib-port'], 1, 255),
        gidIndex: integerFlag('gid-index', values['gid-index'], 0, 65535),
      }
    : undefined;
  const log = (line: string): void => out(stamp(line));
  const node = await MemoryNode.start({
    listen: values.listen,
    size: values.size ?? '1G',
    slabSize: values['slab-size'],
    token: values.token ?? process.env.DMEM_TOKEN,
    transport: values.transport as 'tcp' | 'shm' | 'file' | 'verbs',
    file: values.file,
    rdma,
    leaseTimeoutMs: Math.round(leaseTimeout * 1000),
    log,
  });
  const file = values.file === undefined ? 'DRAM' : `${values.file}${node.fileDirect ? ' (O_DIRECT)' : ' (buffered: the filesystem refused O_DIRECT)'}`;
  const r = node.rdma;
  const via =
    r === undefined
      ? ''
      : ` on ${r.device} port ${r.port} (${r.linkLayer}, mtu ${r.mtu}, ${r.gidIndex >= 0 ? `GID index ${r.gidIndex} ${r.gid}` : `LID ${r.lid}`})`;
  log(`listening on ${node.address.host}:${node.address.port}, transport ${node.transport}${via}, pool ${formatBytes(node.poolBytes)} in ${file}`);
  const printStats = (): void => log(`stats ${JSON.stringify(node.stats())}`);
  process.on('SIGUSR1', printStats);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log(`${signal}: shutting down`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    if (values['stop-with-parent']) {
      // Started by a benchmark or a test: when the parent goes, even by a
      // crash, its end of our stdin closes, and we go too.
      process.stdin.once('end', () => stop('parent gone'));
      process.stdin.once('error', () => stop('parent gone'));
      process.stdin.resume();
    }
  });
  // Let go of stdin, or its open pipe would keep this process alive.
  if (values['stop-with-parent']) process.stdin.destroy();
  printStats();
  await node.close();
  process.off('SIGUSR1', printStats);
  log('stopped');
  return 0;
}

function integerFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new OptionError(name, `expected an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return n;
}
