/**
 * A memory node: the control server (leases, sessions, expiry) over a native
 * slab backend (memory or a file, served over tcp, shm or file; or memory
 * registered with an RDMA device, served over verbs). `dmem serve` is a thin
 * shell around this; tests and `dmem bench` start one in-process.
 */
import * as net from 'node:net';
import { OptionError } from '../errors';
import { parseSize } from '../util/size';
import { ControlServer, type ControlServerStats } from './control-server';
import type { VerbsPortFacts } from '../native/binding';
import { VerbsSlabBackend } from '../verbs/verbs-backend';
import { NativeSlabBackend } from './native-backend';
import type { TransportKind } from './backend';

export interface MemoryNodeOptions {
  /** HOST:PORT for the control listener; default 127.0.0.1:7070. Port 0 picks one. */
  listen?: string;
  /** Pool bytes, e.g. '1G'. */
  size: number | string;
  /** Bytes per lease; default 64M. */
  slabSize?: number | string;
  /** Required when listening on a non-loopback address. */
  token?: string;
  transport?: TransportKind;
  /** Keep the pool in this file instead of DRAM (transports tcp and file). */
  file?: string;
  /** transport 'verbs': the RDMA device, its port (default 1) and GID index (default: found by value). */
  rdma?: { device?: string; port?: number; gidIndex?: number };
  heartbeatMs?: number;
  leaseTimeoutMs?: number;
  log?: (line: string) => void;
}

export const DEFAULT_LISTEN = '127.0.0.1:7070';
export const DEFAULT_SLAB_SIZE = 64 * 2 ** 20;

export function parseHostPort(value: string, option: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value.trim());
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new OptionError(option, `expected HOST:PORT such as 127.0.0.1:7070, got ${JSON.stringify(value)}`);
  }
  const host = m[1] ?? (m[2] === '' ? '127.0.0.1' : m[2]);
  if (net.isIPv4(host) === false) {
    throw new OptionError(option, `expected an IPv4 address (the data path listens on IPv4), got ${JSON.stringify(host)}`);
  }
  return { host, port };
}

export function isLoopback(host: string): boolean {
  return host.startsWith('127.');
}

export class MemoryNode {
  readonly #server: ControlServer;
  readonly #backend: NativeSlabBackend | VerbsSlabBackend;
  readonly address: { host: string; port: number };
  readonly transport: TransportKind;
  readonly poolBytes: number;
  #closing: Promise<void> | undefined;

  private constructor(server: ControlServer, backend: NativeSlabBackend | VerbsSlabBackend, address: { host: string; port: number }) {
    this.#server = server;
    this.#backend = backend;
    this.address = address;
    this.transport = backend.transport;
    this.poolBytes = backend.slots * backend.slabSize;
  }

  static async start(options: MemoryNodeOptions): Promise<MemoryNode> {
    const { host, port } = parseHostPort(options.listen ?? DEFAULT_LISTEN, 'listen');
    const transport = options.transport ?? 'tcp';
    if (!['tcp', 'shm', 'file', 'verbs'].includes(transport)) {
      throw new OptionError('transport', `expected tcp, shm or file (or verbs, with an RDMA device), got ${JSON.stringify(transport)}`);
    }
    const size = parseSize(options.size, 'size');
    const slabSize = parseSize(options.slabSize ?? DEFAULT_SLAB_SIZE, 'slab-size');
    if (slabSize < 4096 || slabSize % 4096 !== 0) throw new OptionError('slab-size', `expected a multiple of 4096, got ${slabSize}`);
    if (size < slabSize) throw new OptionError('size', `the pool (${size} bytes) must hold at least one slab of ${slabSize} bytes; raise --size or lower --slab-size`);
    if (transport === 'file' && options.file === undefined) throw new OptionError('file', '--transport file needs --file PATH (the pool file on an SSD or NVMe drive)');
    if (transport === 'shm' && options.file !== undefined) throw new OptionError('file', '--transport shm shares DRAM; for a pool in a file use --transport file or tcp');
    if (transport === 'verbs' && options.file !== undefined) throw new OptionError('file', '--transport verbs registers DRAM with the device; for a pool in a file use --transport file or tcp');
    if (transport !== 'verbs' && options.rdma !== undefined) throw new OptionError('device', '--device, --ib-port and --gid-index go with --transport verbs');
    const token = options.token === '' ? undefined : options.token;
    if (!isLoopback(host) && token === undefined) {
      throw new OptionError('token', `listening on ${host} (not loopback) needs a token: pass --token or set DMEM_TOKEN`);
    }
    const backend =
      transport === 'verbs'
        ? new VerbsSlabBackend({ poolBytes: size, slabSize, device: options.rdma?.device, ibPort: options.rdma?.port, gidIndex: options.rdma?.gidIndex })
        : new NativeSlabBackend({ transport, poolBytes: size, slabSize, host, file: options.file });
    const server = new ControlServer({
      backend,
      host,
      port,
      token,
      heartbeatMs: options.heartbeatMs,
      leaseTimeoutMs: options.leaseTimeoutMs,
      log: options.log,
    });
    try {
      const address = await server.listen();
      return new MemoryNode(server, backend, address);
    } catch (error) {
      await server.close();
      backend.close();
      throw error;
    }
  }

  get fileDirect(): boolean {
    return this.#backend instanceof NativeSlabBackend && this.#backend.fileDirect;
  }

  /** transport 'verbs': the device, port and GID serving the pool. */
  get rdma(): VerbsPortFacts | undefined {
    return this.#backend instanceof VerbsSlabBackend ? this.#backend.rdma : undefined;
  }

  stats(): ControlServerStats {
    return this.#server.stats();
  }

  /** Ends every session (their slabs are freed), then the data listener. Safe twice. */
  close(): Promise<void> {
    this.#closing ??= this.#server.close().finally(() => this.#backend.close());
    return this.#closing;
  }
}
