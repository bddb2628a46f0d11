/**
 * The verbs SlabBackend: the memory node's pool served over RDMA
 * (native/core/verbs/rdma_pool.h). A lease is a memory region registered in
 * the session's own protection domain: its key is the MR's rkey and its
 * address the MR's real address. Client lanes connect queue pairs in that
 * same PD through connect-qp. The device serves every READ and WRITE: this
 * process spends no CPU on the data path.
 */
import { OptionError } from '../errors';
import { loadVerbs, type NativeVerbsNode, type VerbsPortFacts } from '../native/binding';
import type { BackendStats, DataEndpoint, QueuePairEndpoint, SlabBackend, SlabGrant } from '../node/backend';

export interface VerbsBackendOptions {
  /** RDMA device name; omitted: the first device with an active port. */
  device?: string;
  /** Port of the device (perftest's -i); default 1. */
  ibPort?: number;
  /** GID index (perftest's -x); omitted: the RoCE v2 GID of the netdev's IPv4 address. */
  gidIndex?: number;
  poolBytes: number;
  slabSize: number;
}

export class VerbsSlabBackend implements SlabBackend {
  readonly transport = 'verbs' as const;
  readonly slabSize: number;
  readonly slots: number;
  /** The pool's real address in this process: lease addresses are addressBase + slot * slabSize. */
  readonly addressBase: number;
  /** The device, port and GID serving the pool. */
  readonly rdma: VerbsPortFacts;
  readonly #native: NativeVerbsNode;
  #closed = false;

  constructor(options: VerbsBackendOptions) {
    const ibPort = options.ibPort ?? 1;
    if (!Number.isInteger(ibPort) || ibPort < 1 || ibPort > 255) throw new OptionError('ib-port', `expected a port number in 1..255, got ${ibPort}`);
    if (options.gidIndex !== undefined && (!Number.isInteger(options.gidIndex) || options.gidIndex < 0 || options.gidIndex > 65535)) {
      throw new OptionError('gid-index', `expected an index in 0..65535 (see \`dmem info\`), got ${options.gidIndex}`);
    }
    this.slabSize = options.slabSize;
    this.slots = Math.floor(options.poolBytes / options.slabSize);
    const { NativeVerbsNode: Node } = loadVerbs();
    this.#native = new Node({
      device: options.device ?? '',
      port: ibPort,
      gidIndex: options.gidIndex,
      slabSize: this.slabSize,
      slots: this.slots,
    });
    const { addressBase, ...rdma } = this.#native.describe();
    this.addressBase = addressBase;
    this.rdma = rdma;
  }

  dataEndpoint(): DataEndpoint {
    return { kind: 'verbs', device: this.rdma.device, port: this.rdma.port, gidIndex: this.rdma.gidIndex };
  }

  /** Verbs needs no secret: the session's protection domain and the rkeys are the capability. */
  openSession(sessionId: number): void {
    this.#native.openSession(sessionId);
  }

  closeSession(sessionId: number): void {
    this.#native.closeSession(sessionId);
  }

  grant(slot: number, sessionId: number): SlabGrant {
    const { address, key } = this.#native.grant(slot, sessionId);
    return { address, length: this.slabSize, key };
  }

  /** Deregisters the slab's MR (its rkey dies at once) and drops its memory (zeros when next leased). */
  revoke(slot: number): void {
    this.#native.revoke(slot);
  }

  connectQueuePair(sessionId: number, client: QueuePairEndpoint): QueuePairEndpoint {
    return this.#native.connectQp(sessionId, client);
  }

  disconnectQueuePair(sessionId: number, qpn: number): boolean {
    return this.#native.disconnectQp(sessionId, qpn);
  }

  /** The device moves the data, so there is nothing to count per operation here. */
  stats(): BackendStats {
    return {
      reads: 0,
      writes: 0,
      bytesRead: 0,
      bytesWritten: 0,
      refused: 0,
      dataConnections: this.#closed ? 0 : this.#native.queuePairs,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
  }
}
