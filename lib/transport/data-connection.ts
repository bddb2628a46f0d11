/**
 * One lane's data connection to a memory node session: post READ/WRITE
 * operations between a StagingBuffer and remote addresses, in batches, and
 * poll their completions. Synchronous and allocation-free per operation, so a
 * pager lane (a worker thread) can drive it from its fault loop.
 *
 *   const conn = DataConnection.open(session.handle, staging, 64);
 *   setOp(ops, 0, OpKind.read, tag, stagingOffset, lease.address, 65536, lease.key);
 *   conn.post(ops, 1);
 *   const n = conn.poll(completions, 1000);   // [tag, status, bytes] each
 *
 * Not thread-safe: one connection per thread. Open it in the thread that uses it.
 */
import { DmemError, ErrorCodes, OptionError } from '../errors';
import { loadCore, type NativeConnection } from '../native/binding';
import type { RemoteSessionHandle } from './remote-session';
import type { StagingBuffer } from './staging-buffer';

export class DataConnection {
  readonly #native: NativeConnection;
  readonly maxInflight: number;

  private constructor(native: NativeConnection, maxInflight: number) {
    this.#native = native;
    this.maxInflight = maxInflight;
  }

  static open(session: RemoteSessionHandle, staging: StagingBuffer, maxInflight = 64): DataConnection {
    if (!Number.isInteger(maxInflight) || maxInflight < 1 || maxInflight > 4096) {
      throw new OptionError('maxInflight', `expected an integer in 1..4096, got ${maxInflight}`);
    }
    const { NativeConnection: Connection } = loadCore();
    try {
      return new DataConnection(new Connection(session.id, staging.native, maxInflight), maxInflight);
    } catch (error) {
      const e = error as Error & { code?: string };
      if (e.code === 'ECONNREFUSED') {
        throw new DmemError(`${e.message}: the memory node's data listener is not running; start \`dmem serve\``, ErrorCodes.nodeLost);
      }
      throw error;
    }
  }

  /** Operations posted and not yet reported by poll(). */
  get inflight(): number {
    return this.#native.inflight;
  }

  /** Posts ops[0..count); returns how many were accepted (fewer at the in-flight limit). */
  post(ops: Float64Array, count: number): number {
    return this.#native.post(ops, count);
  }

  /** Waits up to timeoutMs for completions; returns how many it wrote to `out`. */
  poll(out: Int32Array, timeoutMs: number): number {
    return this.#native.poll(out, timeoutMs);
  }

  close(): void {
    this.#native.close();
  }
}
