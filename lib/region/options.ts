/** createRegion's options: validated and defaulted here, before anything starts. */
import * as os from 'node:os';
import { OptionError } from '../errors';
import { parseBlockPolicy, type BlockPolicy } from '../paging/elastic-block';
import { PAGE_SIZE } from '../paging/layout';
import { parseSize } from '../util/size';
import type { RdmaOptions } from '../transport/remote-session';
import type { DirtyTracking, Replacement } from '../lanes/lane-init';
import { PagerPool } from './pager-pool';

export interface RemoteEndpoint {
  host: string;
  port: number;
  token?: string;
}

export interface RegionOptions {
  /** Region bytes, e.g. '1G'. */
  size: number | string;
  /** Local DRAM budget (resident + prefetched pages); default half of size. */
  localBytes?: number | string;
  /** The memory node; omitted: an embedded one on loopback, stopped with the region. */
  remote?: RemoteEndpoint | RemoteEndpoint[];
  /** The embedded node's transport (default 'shm'); a remote node says its own. */
  transport?: 'tcp' | 'shm' | 'file';
  /** Pager lanes (worker threads); default the number of cores. */
  lanes?: number;
  /** 'elastic' (default) or a fixed block: '4k', '16k', '64k', '256k'. */
  block?: string;
  /** 'clock' (default: second chance, zap-emulated reference bits) or 'fifo'. */
  replacement?: Replacement;
  /** 'wp' (default where the kernel offers WP on shmem) or 'always'. */
  dirtyTracking?: DirtyTracking;
  /**
   * Every Nth multi-page block of a stream, and every Nth miss that continues
   * no stream, is a locality probe (0 = none). Default 8 for elastic blocks;
   * 0 for a fixed block, which has no policy to feed.
   */
  probeEvery?: number;
  /** Bound on connecting and on any one data operation (ms). */
  timeoutMs?: number;
  /**
   * A memory node serving verbs: this machine's RDMA device, port and GID
   * index (defaults: the first device with an active port, port 1, the
   * RoCE v2 GID carrying the netdev's IPv4 address). Checked when the
   * session opens; ignored for the other transports.
   */
  rdma?: RdmaOptions;
  /**
   * Pager workers to take the lanes and the reclaimer from, and to give them
   * back to at close (createPagerPool): regions created one after another
   * then start on warm, compiled lanes. Default: the region starts its own.
   */
  pool?: PagerPool;
  /**
   * The nice value the pager lanes serve at (-20..19; lower runs first), so
   * that a fault is served before the other vCPUs compute on. Default -10
   * where the process may raise a thread's priority (root, CAP_SYS_NICE),
   * else the process's own; a value given is required (createRegion fails
   * where it cannot be set); null leaves the lanes at the process's.
   */
  laneNice?: number | null;
}

export interface ResolvedOptions {
  size: number;
  localBytes: number;
  remote: RemoteEndpoint | undefined;
  transport: 'tcp' | 'shm' | 'file';
  lanes: number;
  policy: BlockPolicy;
  block: string;
  replacement: Replacement;
  dirtyTracking: DirtyTracking;
  probeEvery: number;
  timeoutMs: number;
  rdma: RdmaOptions | undefined;
  pool: PagerPool | undefined;
  laneNice: number | null;
  /** Whether laneNice was asked for (createRegion fails without it) rather than defaulted. */
  laneNiceRequired: boolean;
}

const MIN_LOCAL_PAGES = 128;
/** lanes/thread-priority.ts: halved the mean fault service of quick kvcache, heap and db (vCPUs computing beside the lanes). */
const DEFAULT_LANE_NICE = -10;

export function resolveOptions(options: RegionOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new OptionError('options', 'expected an object such as { size: "1G" }');
  const size = roundUp(parseSize(options.size, 'size'), 256 * 1024);
  if (size === 0) throw new OptionError('size', 'must be at least 4096 bytes');
  const localBytes = options.localBytes === undefined ? Math.floor(size / 2) : parseSize(options.localBytes, 'localBytes');
  if (localBytes < MIN_LOCAL_PAGES * PAGE_SIZE) {
    throw new OptionError('localBytes', `must be at least ${MIN_LOCAL_PAGES * 4} KiB (room for a few blocks), got ${localBytes}`);
  }
  const remotes = options.remote === undefined ? [] : Array.isArray(options.remote) ? options.remote : [options.remote];
  if (remotes.length > 1) {
    throw new OptionError('remote', 'one memory node per region is supported for now; pass a single endpoint');
  }
  for (const r of remotes) {
    if (typeof r.host !== 'string' || !Number.isInteger(r.port) || r.port <= 0 || r.port > 65535) {
      throw new OptionError('remote', `expected { host, port, token? }, got ${JSON.stringify(r)}`);
    }
  }
  const transport = options.transport ?? 'shm';
  if (!['tcp', 'shm', 'file'].includes(transport)) throw new OptionError('transport', `expected tcp, shm or file, got ${JSON.stringify(transport)}`);
  const lanes = options.lanes ?? os.availableParallelism();
  if (!Number.isInteger(lanes) || lanes < 1 || lanes > 64) throw new OptionError('lanes', `expected an integer from 1 to 64, got ${lanes}`);
  const block = options.block ?? 'elastic';
  const policy = parseBlockPolicy(block);
  if (policy === undefined) throw new OptionError('block', `expected 'elastic', '4k', '16k', '64k' or '256k', got ${JSON.stringify(block)}`);
  const replacement = options.replacement ?? 'clock';
  if (replacement !== 'clock' && replacement !== 'fifo') throw new OptionError('replacement', `expected 'clock' or 'fifo', got ${JSON.stringify(replacement)}`);
  const dirtyTracking = options.dirtyTracking ?? 'wp';
  if (dirtyTracking !== 'wp' && dirtyTracking !== 'always') throw new OptionError('dirtyTracking', `expected 'wp' or 'always', got ${JSON.stringify(dirtyTracking)}`);
  const probeEvery = options.probeEvery ?? (policy.kind === 'elastic' ? 8 : 0);
  if (!Number.isInteger(probeEvery) || probeEvery < 0) throw new OptionError('probeEvery', `expected a non-negative integer, got ${probeEvery}`);
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 10) throw new OptionError('timeoutMs', `expected an integer of at least 10, got ${timeoutMs}`);
  const pool = options.pool;
  if (pool !== undefined && !(pool instanceof PagerPool)) throw new OptionError('pool', 'expected a PagerPool from createPagerPool(), or no pool');
  if (pool?.closed) throw new OptionError('pool', 'the pool is closed: create a new one with createPagerPool(), or pass no pool');
  const laneNice = options.laneNice === undefined ? DEFAULT_LANE_NICE : options.laneNice;
  if (laneNice !== null && (!Number.isInteger(laneNice) || laneNice < -20 || laneNice > 19)) {
    throw new OptionError('laneNice', `expected an integer from -20 to 19, or null, got ${JSON.stringify(laneNice)}`);
  }
  return {
    size,
    localBytes: Math.min(roundDown(localBytes, PAGE_SIZE), size),
    remote: remotes[0],
    transport,
    lanes,
    policy,
    block,
    replacement,
    dirtyTracking,
    probeEvery,
    timeoutMs,
    rdma: options.rdma,
    pool,
    laneNice,
    laneNiceRequired: options.laneNice !== undefined && options.laneNice !== null,
  };
}

function roundUp(value: number, unit: number): number {
  return Math.ceil(value / unit) * unit;
}

function roundDown(value: number, unit: number): number {
  return Math.floor(value / unit) * unit;
}
