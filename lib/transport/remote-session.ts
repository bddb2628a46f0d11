/**
 * A compute node's session with one memory node: the control connection
 * (leases, heartbeats) plus the native session that data connections join.
 * Lives in the thread that opened it; lanes in other threads open their own
 * DataConnection from a lane handle:
 *
 *   const session = await RemoteSession.open({ host, port, token });
 *   const lease = await session.lease();
 *   const lane = await session.prepareLane({ maxInflight: 64 });  // session's thread
 *   const conn = DataConnection.open(lane, staging);              // the lane's thread
 *
 * prepareLane() works for every transport; verbs needs it: a lane's queue
 * pair must be connected to one on the memory node through the control
 * protocol (connect-qp), which runs on this thread's event loop, while the
 * lane's thread only ever makes synchronous calls. So the session's thread
 * creates and connects the QP, and the lane's thread claims it, registers
 * its staging buffer and owns it from then on. (tcp, shm and file also
 * accept `session.handle` directly.)
 *
 * When the memory node becomes unreachable (its control connection drops),
 * the session is marked lost: shm, file and verbs operations then complete
 * with ECONNRESET, and tcp connections fail on their own sockets.
 */
import { DmemError, ErrorCodes, OptionError } from '../errors';
import { loadCore, loadVerbs, type NativeSession, type NativeVerbsSession, type VerbsPortFacts } from '../native/binding';
import { MemoryNodeClient, type Lease } from '../node/control-client';
import type { TransportKind } from '../node/backend';

export interface RemoteSessionHandle {
  readonly id: number;
  readonly transport: TransportKind;
  readonly slabSize: number;
  readonly addressBase: number;
}

/** A session handle for one lane: post it to the lane's thread and pass it to DataConnection.open. */
export interface LaneHandle extends RemoteSessionHandle {
  /** verbs: the prepared lane (a connected queue pair), claimed by the first DataConnection.open; 0 otherwise. */
  readonly lane: number;
  readonly maxInflight: number;
}

/** This machine's side of a verbs session: RDMA device, port and GID index (defaults below). */
export interface RdmaOptions {
  device?: string;
  port?: number;
  gidIndex?: number;
}

export interface RemoteSessionOptions {
  host: string;
  port: number;
  token?: string;
  /** Name shown in the memory node's log. */
  client?: string;
  /** Bound on connecting and on any one data operation. */
  timeoutMs?: number;
  /**
   * verbs: this machine's RDMA device, port and GID index. Defaults: the
   * memory node's device name when this machine has one by that name, else
   * the first device with an active port; port 1; the RoCE v2 GID of the
   * netdev's IPv4 address, found by value.
   */
  rdma?: RdmaOptions;
}

const KIND = { tcp: 0, shm: 1, file: 2 } as const;

type Native = { kind: 'core'; session: NativeSession } | { kind: 'verbs'; session: NativeVerbsSession };

export class RemoteSession {
  readonly #client: MemoryNodeClient;
  readonly #native: Native;
  readonly #leases = new Map<number, Lease>();
  #closed = false;

  private constructor(client: MemoryNodeClient, native: Native) {
    this.#client = client;
    this.#native = native;
    client.onLost(() => native.session.markLost());
  }

  static async open(options: RemoteSessionOptions): Promise<RemoteSession> {
    const timeoutMs = options.timeoutMs ?? 5000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new OptionError('timeoutMs', `expected a positive integer, got ${timeoutMs}`);
    const client = await MemoryNodeClient.connect({
      host: options.host,
      port: options.port,
      token: options.token,
      client: options.client,
      timeoutMs,
    });
    const w = client.welcome;
    const data = w.data;
    try {
      if (w.transport === 'verbs' || data.kind === 'verbs') {
        if (w.transport !== 'verbs' || data.kind !== 'verbs') {
          throw new DmemError(`memory node ${options.host}:${options.port} announced transport ${w.transport} with a ${data.kind} data endpoint`, ErrorCodes.protocol);
        }
        return new RemoteSession(client, { kind: 'verbs', session: openVerbs(options, data.device, timeoutMs) });
      }
      const { NativeSession: Session } = loadCore();
      const native = new Session({
        kind: KIND[w.transport],
        host: data.kind === 'tcp' ? (data.host === '0.0.0.0' ? options.host : data.host) : undefined,
        port: data.kind === 'tcp' ? data.port : undefined,
        unixPath: data.kind === 'unix' ? data.path : undefined,
        secret: w.secret,
        slabSize: w.slabSize,
        slots: Math.floor(w.poolBytes / w.slabSize),
        addressBase: w.addressBase,
        timeoutMs,
      });
      return new RemoteSession(client, { kind: 'core', session: native });
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  get handle(): RemoteSessionHandle {
    const w = this.#client.welcome;
    return { id: this.#native.session.id, transport: w.transport, slabSize: w.slabSize, addressBase: w.addressBase };
  }

  /** verbs: the local device, port and GID this session's lanes use. */
  get rdma(): VerbsPortFacts | undefined {
    return this.#native.kind === 'verbs' && !this.#closed ? this.#native.session.describe() : undefined;
  }

  /**
   * A handle for one lane's DataConnection (open it in the lane's thread).
   * verbs: creates the lane's queue pair and has the memory node connect one
   * to it (connect-qp); each handle opens one DataConnection. Lanes closed
   * since the last call have their memory-node QPs freed first.
   */
  async prepareLane(options: { maxInflight?: number } = {}): Promise<LaneHandle> {
    const maxInflight = options.maxInflight ?? 64;
    if (!Number.isInteger(maxInflight) || maxInflight < 1 || maxInflight > 4096) {
      throw new OptionError('maxInflight', `expected an integer in 1..4096, got ${maxInflight}`);
    }
    if (this.#closed) throw new DmemError('prepareLane: this RemoteSession is closed; open a new one', ErrorCodes.closed);
    const base = { ...this.handle, maxInflight };
    if (this.#native.kind !== 'verbs') return { ...base, lane: 0 };
    const verbs = this.#native.session;
    await this.#freeClosedLanes(verbs);
    const { lane, endpoint } = verbs.createLane(maxInflight);
    let nodeQpn = 0;
    try {
      const node = await this.#client.connectQp(endpoint);
      nodeQpn = node.qpn;
      verbs.connectLane(lane, node);
    } catch (error) {
      verbs.dropLane(lane);
      if (nodeQpn !== 0) await this.#client.disconnectQp(nodeQpn).catch(() => undefined);
      throw error;
    }
    return { ...base, lane };
  }

  async #freeClosedLanes(verbs: NativeVerbsSession): Promise<void> {
    for (const qpn of verbs.takeClosed()) {
      // Best effort: the node frees them with the session anyway.
      await this.#client.disconnectQp(qpn).catch(() => undefined);
    }
  }

  get transport(): TransportKind {
    return this.#client.welcome.transport;
  }

  get lost(): boolean {
    return this.#native.session.lost || this.#client.lost;
  }

  get leases(): Lease[] {
    return [...this.#leases.values()];
  }

  /** Leases one slab and makes it reachable by this session's data connections. */
  async lease(): Promise<Lease> {
    const lease = await this.#client.lease();
    const native = this.#native;
    // verbs: the memory node's device checks every access against the lease's MR.
    if (native.kind === 'verbs') {
      this.#leases.set(lease.slabId, lease);
      return lease;
    }
    try {
      native.session.addSlab(lease.slabId, lease.key);
    } catch (error) {
      await this.#client.release(lease.slabId).catch(() => undefined);
      throw error;
    }
    this.#leases.set(lease.slabId, lease);
    return lease;
  }

  async release(slabId: number): Promise<void> {
    if (this.#native.kind === 'core') this.#native.session.removeSlab(slabId);
    this.#leases.delete(slabId);
    await this.#client.release(slabId);
  }

  stats(): Promise<object> {
    return this.#client.stats();
  }

  /** Says goodbye to the memory node (it frees every lease) and closes. Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.session.markLost();
    this.#native.session.close();
    this.#leases.clear();
    await this.#client.close();
  }
}

/** The verbs side of a session: this machine's device (see RemoteSessionOptions.rdma). */
function openVerbs(options: RemoteSessionOptions, nodeDevice: string, timeoutMs: number): NativeVerbsSession {
  const rdma = options.rdma ?? {};
  const port = rdma.port ?? 1;
  if (!Number.isInteger(port) || port < 1 || port > 255) throw new OptionError('rdma.port', `expected a port number in 1..255, got ${port}`);
  if (rdma.gidIndex !== undefined && (!Number.isInteger(rdma.gidIndex) || rdma.gidIndex < 0 || rdma.gidIndex > 65535)) {
    throw new OptionError('rdma.gidIndex', `expected an index in 0..65535 (see \`dmem info\`), got ${rdma.gidIndex}`);
  }
  const verbs = loadVerbs();
  let device = rdma.device;
  if (device === undefined) {
    let local: string[] = [];
    try {
      local = verbs.listDevices().map((d) => d.name);
    } catch {
      // No device list: the native session reports why, with the fix.
    }
    device = local.includes(nodeDevice) ? nodeDevice : '';
  }
  return new verbs.NativeVerbsSession({ device, port, gidIndex: rdma.gidIndex, timeoutMs });
}
