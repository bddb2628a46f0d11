/**
 * One lane's data connection to a memory node session: post READ/WRITE
 * operations between a StagingBuffer and remote addresses, in batches, and
 * poll their completions. Synchronous and allocation-free per operation, so a
 * pager lane (a worker thread) can drive it from its fault loop.
 *
 *   const lane = await session.prepareLane({ maxInflight: 64 });   // the session's thread
 *   const conn = DataConnection.open(lane, staging);               // the lane's thread
 *   setOp(ops, 0, OpKind.read, tag, stagingOffset, lease.address, 65536, lease.key);
 *   conn.post(ops, 1);
 *   const n = conn.poll(completions, 1000);   // [tag, status, bytes] each
 *
 * The same calls drive every transport. verbs: the lane's own RC queue pair
 * (prepared and connected by the session), its own completion queue, and the
 * staging buffer registered as a memory region; post() links the batch into
 * one ibv_post_send with only its last request signalled, poll() spins on the
 * completion queue for `spinUs`, then sleeps on its completion channel.
 *
 * Not thread-safe: one connection per thread. Open it in the thread that uses it.
 */
import { DmemError, ErrorCodes, OptionError } from '../errors';
import { loadCore, loadVerbs, type NativeConnection } from '../native/binding';
import type { LaneHandle, RemoteSessionHandle } from './remote-session';
import type { StagingBuffer } from './staging-buffer';

export interface DataConnectionOptions {
  /**
   * verbs: how long poll() busy-polls the completion queue before it sleeps
   * on the completion channel, in microseconds (0..1000000). Spinning costs a
   * CPU while waiting and saves a wake-up per completion. Default 200.
   */
  spinUs?: number;
}

/** verbs: poll()'s default busy-poll budget before sleeping. */
export const DEFAULT_SPIN_US = 200;

export class DataConnection {
  readonly #native: NativeConnection;
  readonly maxInflight: number;

  private constructor(native: NativeConnection, maxInflight: number) {
    this.#native = native;
    this.maxInflight = maxInflight;
  }

  /**
   * `session`: a lane handle from session.prepareLane() (any transport), or,
   * for tcp, shm and file, the session's handle. `maxInflight` defaults to
   * the lane's (else 64); a verbs lane's cannot be changed here.
   */
  static open(
    session: RemoteSessionHandle | LaneHandle,
    staging: StagingBuffer,
    maxInflight?: number,
    options: DataConnectionOptions = {},
  ): DataConnection {
    const lane = 'lane' in session ? session : undefined;
    const inflight = maxInflight ?? lane?.maxInflight ?? 64;
    if (!Number.isInteger(inflight) || inflight < 1 || inflight > 4096) {
      throw new OptionError('maxInflight', `expected an integer in 1..4096, got ${inflight}`);
    }
    if (session.transport === 'verbs') return DataConnection.#openVerbs(lane, staging, inflight, options);
    const { NativeConnection: Connection } = loadCore();
    try {
      return new DataConnection(new Connection(session.id, staging.native, inflight), inflight);
    } catch (error) {
      const e = error as Error & { code?: string };
      if (e.code === 'ECONNREFUSED') {
        throw new DmemError(`${e.message}: the memory node's data listener is not running; start \`dmem serve\``, ErrorCodes.nodeLost);
      }
      throw error;
    }
  }

  static #openVerbs(lane: LaneHandle | undefined, staging: StagingBuffer, maxInflight: number, options: DataConnectionOptions): DataConnection {
    if (lane === undefined || lane.lane === 0) {
      throw new OptionError(
        'session',
        'a verbs lane needs its queue pair connected first: call `const lane = await session.prepareLane({ maxInflight })` ' +
          "on the session's thread, then DataConnection.open(lane, staging) on the lane's",
      );
    }
    if (maxInflight !== lane.maxInflight) {
      throw new OptionError('maxInflight', `this verbs lane was prepared for ${lane.maxInflight} in flight, not ${maxInflight}; pass it to prepareLane()`);
    }
    const spinUs = options.spinUs ?? DEFAULT_SPIN_US;
    if (!Number.isInteger(spinUs) || spinUs < 0 || spinUs > 1_000_000) {
      throw new OptionError('spinUs', `expected an integer number of microseconds in 0..1000000, got ${spinUs}`);
    }
    const { NativeVerbsConnection: Connection } = loadVerbs();
    return new DataConnection(new Connection(lane.id, lane.lane, staging.view(), spinUs), maxInflight);
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

  /**
   * A latency run, timed natively the way perftest's ib_read_lat is: `op`
   * (one operation) posted and polled to its completion `latencyNs.length`
   * times, one clock read per iteration, each latency the time between
   * consecutive reads. No JavaScript runs between operations, so this is the
   * data path's own latency; post() + poll() from JavaScript add the cost of
   * two calls into native code. Nothing else may be in flight.
   *
   * Returns how many operations succeeded: fewer than asked when one failed,
   * whose completion ([tag, status, bytes]) is then in `completion`.
   */
  runLatency(op: Float64Array, latencyNs: Float64Array, completion: Int32Array, timeoutMs: number): number {
    return this.#native.runLatency(op, latencyNs.length, latencyNs, completion, timeoutMs);
  }

  close(): void {
    this.#native.close();
  }
}
