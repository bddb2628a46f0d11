/**
 * A compute node's session with one memory node: the control connection
 * (leases, heartbeats) plus the native session that data connections join.
 * Lives in the thread that opened it; lanes in other threads open their own
 * DataConnection from `handle`.
 *
 *   const session = await RemoteSession.open({ host, port, token });
 *   const lease = await session.lease();
 *   const conn = DataConnection.open(session.handle, staging);
 *
 * When the memory node becomes unreachable (its control connection drops),
 * the session is marked lost: shm and file operations then complete with
 * ECONNRESET, and tcp connections fail on their own sockets.
 */
import { DmemError, ErrorCodes, OptionError } from '../errors';
import { loadCore, type NativeSession } from '../native/binding';
import { MemoryNodeClient, type Lease } from '../node/control-client';
import type { TransportKind } from '../node/backend';

export interface RemoteSessionHandle {
  readonly id: number;
  readonly transport: TransportKind;
  readonly slabSize: number;
  readonly addressBase: number;
}

export interface RemoteSessionOptions {
  host: string;
  port: number;
  token?: string;
  /** Name shown in the memory node's log. */
  client?: string;
  /** Bound on connecting and on any one data operation. */
  timeoutMs?: number;
}

const KIND = { tcp: 0, shm: 1, file: 2 } as const;

export class RemoteSession {
  readonly #client: MemoryNodeClient;
  readonly #native: NativeSession;
  readonly #leases = new Map<number, Lease>();
  #closed = false;

  private constructor(client: MemoryNodeClient, native: NativeSession) {
    this.#client = client;
    this.#native = native;
    client.onLost(() => native.markLost());
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
    if (w.transport === 'verbs') {
      await client.close();
      throw new DmemError('this memory node serves verbs; the verbs client transport is not built into this session type', ErrorCodes.invalidOption);
    }
    const data = w.data;
    try {
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
      return new RemoteSession(client, native);
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  get handle(): RemoteSessionHandle {
    const w = this.#client.welcome;
    return { id: this.#native.id, transport: w.transport, slabSize: w.slabSize, addressBase: w.addressBase };
  }

  get transport(): TransportKind {
    return this.#client.welcome.transport;
  }

  get lost(): boolean {
    return this.#native.lost || this.#client.lost;
  }

  get leases(): Lease[] {
    return [...this.#leases.values()];
  }

  /** Leases one slab and makes it reachable by this session's data connections. */
  async lease(): Promise<Lease> {
    const lease = await this.#client.lease();
    try {
      this.#native.addSlab(lease.slabId, lease.key);
    } catch (error) {
      await this.#client.release(lease.slabId).catch(() => undefined);
      throw error;
    }
    this.#leases.set(lease.slabId, lease);
    return lease;
  }

  async release(slabId: number): Promise<void> {
    this.#native.removeSlab(slabId);
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
    this.#native.markLost();
    this.#native.close();
    this.#leases.clear();
    await this.#client.close();
  }
}
