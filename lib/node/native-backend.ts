/**
 * The native SlabBackend: slabs of memfd memory (or ranges of a --file pool)
 * and the data listener, in native/core/transport/. Keys are drawn here, at
 * random per lease.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { loadCore, type NativeNodeBackend } from '../native/binding';
import type { BackendStats, DataEndpoint, SlabBackend, SlabGrant, TransportKind } from './backend';

/** Remote addresses start here, so an address is never mistaken for 0 or a small offset. */
export const DEFAULT_ADDRESS_BASE = 2 ** 44;

export interface NativeBackendOptions {
  transport: Exclude<TransportKind, 'verbs'>;
  poolBytes: number;
  slabSize: number;
  /** Host the tcp data listener binds (the control listener's host). */
  host: string;
  /** tcp data port; 0 picks a free one. */
  dataPort?: number;
  /** A file to hold the pool instead of DRAM (required for transport 'file'). */
  file?: string;
}

export class NativeSlabBackend implements SlabBackend {
  readonly transport: Exclude<TransportKind, 'verbs'>;
  readonly slabSize: number;
  readonly slots: number;
  readonly addressBase = DEFAULT_ADDRESS_BASE;
  readonly #native: NativeNodeBackend;
  readonly #endpoint: DataEndpoint;
  #closed = false;

  constructor(options: NativeBackendOptions) {
    this.transport = options.transport;
    this.slabSize = options.slabSize;
    this.slots = Math.floor(options.poolBytes / options.slabSize);
    const unixPath = options.transport === 'tcp' ? undefined : `@dmem-node-${process.pid}-${randomBytes(6).toString('hex')}`;
    const { NativeNodeBackend: Backend } = loadCore();
    this.#native = new Backend({
      pool: options.file === undefined ? 'memory' : 'file',
      file: options.file,
      slabSize: this.slabSize,
      slots: this.slots,
      addressBase: this.addressBase,
      tcp: options.transport === 'tcp',
      host: options.host,
      port: options.dataPort ?? 0,
      unixPath,
    });
    this.#endpoint =
      unixPath === undefined
        ? { kind: 'tcp', host: options.host, port: this.#native.port }
        : { kind: 'unix', path: unixPath };
  }

  /** Whether the file pool could be opened with O_DIRECT. */
  get fileDirect(): boolean {
    return this.#native.fileDirect;
  }

  dataEndpoint(): DataEndpoint {
    return this.#endpoint;
  }

  openSession(sessionId: number, secret: string): void {
    this.#native.openSession(sessionId, secret);
  }

  closeSession(sessionId: number): void {
    this.#native.closeSession(sessionId);
  }

  grant(slot: number, sessionId: number): SlabGrant {
    const key = randomInt(1, 2 ** 32 - 1);
    const address = this.#native.grant(slot, sessionId, key);
    return { address, length: this.slabSize, key };
  }

  revoke(slot: number): void {
    this.#native.revoke(slot);
  }

  stats(): BackendStats {
    return this.#closed
      ? { reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0, refused: 0, dataConnections: 0 }
      : this.#native.stats();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
  }
}
