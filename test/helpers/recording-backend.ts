/**
 * A SlabBackend for control-protocol tests: it records every call the control
 * server makes and checks each against the contract in lib/node/backend.ts
 * (a slot granted twice, revoked while free, a session closed with slabs
 * still granted...), collecting breaches in `violations` instead of throwing,
 * so a test can assert there were none.
 *
 * By default a slot's memory is a Uint8Array, zeroed on revoke. Pass `inner`
 * to record in front of another backend (the native one) instead: the
 * recording accessors work the same, `memory()` is then unavailable.
 */
import { randomInt } from 'node:crypto';
import type { BackendStats, DataEndpoint, SlabBackend, SlabGrant, TransportKind } from '../../dist/index.js';

export interface RecordingBackendOptions {
  slabSize?: number;
  slots?: number;
  addressBase?: number;
  inner?: SlabBackend;
}

export class RecordingBackend implements SlabBackend {
  readonly transport: TransportKind;
  readonly slabSize: number;
  readonly slots: number;
  readonly addressBase: number;

  readonly grants: { slot: number; sessionId: number; grant: SlabGrant }[] = [];
  readonly revokes: number[] = [];
  readonly openedSessions: { sessionId: number; secret: string }[] = [];
  readonly closedSessions: number[] = [];
  readonly violations: string[] = [];
  closed = false;

  readonly #inner: SlabBackend | undefined;
  readonly #memory = new Map<number, Uint8Array>();
  readonly #owner = new Map<number, number>();
  readonly #openSessions = new Set<number>();

  constructor(options: RecordingBackendOptions = {}) {
    this.#inner = options.inner;
    this.transport = options.inner?.transport ?? 'tcp';
    this.slabSize = options.inner?.slabSize ?? options.slabSize ?? 65536;
    this.slots = options.inner?.slots ?? options.slots ?? 4;
    this.addressBase = options.inner?.addressBase ?? options.addressBase ?? 2 ** 44;
  }

  dataEndpoint(): DataEndpoint {
    return this.#inner?.dataEndpoint() ?? { kind: 'tcp', host: '127.0.0.1', port: 1 };
  }

  openSession(sessionId: number, secret: string): void {
    if (this.#openSessions.has(sessionId)) this.violations.push(`openSession(${sessionId}): already open`);
    this.#openSessions.add(sessionId);
    this.openedSessions.push({ sessionId, secret });
    this.#inner?.openSession(sessionId, secret);
  }

  closeSession(sessionId: number): void {
    if (!this.#openSessions.has(sessionId)) this.violations.push(`closeSession(${sessionId}): not open`);
    const held = [...this.#owner].filter(([, owner]) => owner === sessionId).map(([slot]) => slot);
    if (held.length > 0) this.violations.push(`closeSession(${sessionId}): slots ${held.join(',')} still granted`);
    this.#openSessions.delete(sessionId);
    this.closedSessions.push(sessionId);
    this.#inner?.closeSession(sessionId);
  }

  grant(slot: number, sessionId: number): SlabGrant {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) this.violations.push(`grant(${slot}): no such slot`);
    if (this.#owner.has(slot)) this.violations.push(`grant(${slot}): already granted to ${this.#owner.get(slot)}`);
    if (!this.#openSessions.has(sessionId)) this.violations.push(`grant(${slot}, ${sessionId}): session not open`);
    const grant = this.#inner?.grant(slot, sessionId) ?? {
      address: this.addressBase + slot * this.slabSize,
      length: this.slabSize,
      key: randomInt(0, 2 ** 32),
    };
    if (this.#inner === undefined && !this.#memory.has(slot)) this.#memory.set(slot, new Uint8Array(this.slabSize));
    this.#owner.set(slot, sessionId);
    this.grants.push({ slot, sessionId, grant });
    return grant;
  }

  revoke(slot: number): void {
    if (!this.#owner.has(slot)) this.violations.push(`revoke(${slot}): not granted`);
    this.#owner.delete(slot);
    this.#memory.get(slot)?.fill(0);
    this.revokes.push(slot);
    this.#inner?.revoke(slot);
  }

  stats(): BackendStats {
    return (
      this.#inner?.stats() ?? { reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0, refused: 0, dataConnections: 0 }
    );
  }

  close(): void {
    this.closed = true;
    this.#inner?.close();
  }

  // ---- recording accessors ----------------------------------------------------

  /** The session a slot is granted to, or undefined when free. */
  ownerOf(slot: number): number | undefined {
    return this.#owner.get(slot);
  }

  /** Granted slots, ascending. */
  grantedSlots(): number[] {
    return [...this.#owner.keys()].sort((a, b) => a - b);
  }

  isSessionOpen(sessionId: number): boolean {
    return this.#openSessions.has(sessionId);
  }

  /** A slot's memory (in-memory mode only). */
  memory(slot: number): Uint8Array {
    if (this.#inner !== undefined) throw new Error('memory(): not available in front of another backend');
    let bytes = this.#memory.get(slot);
    if (bytes === undefined) {
      bytes = new Uint8Array(this.slabSize);
      this.#memory.set(slot, bytes);
    }
    return bytes;
  }

  get hasMemory(): boolean {
    return this.#inner === undefined;
  }
}
