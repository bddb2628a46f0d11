/**
 * The session host: a worker thread that holds a region's memory node
 * session (its control connection, leases and heartbeats) and, when the
 * region has no remote node, the embedded memory node too.
 *
 * Why a thread of its own: heartbeats and the node's lease clock run on an
 * event loop, and any thread that touches region memory may block its own
 * event loop for as long as it likes (a page fault, or simply a long
 * computation over the region). Were the session on such a thread, a
 * computation longer than the node's lease timeout would expire the session
 * and with it the region's data. Nothing touches region memory here.
 *
 * Protocol (this worker <-> the region's thread):
 *   workerData: SessionHostInit
 *   -> { type: 'ready', ... } (leases taken, lanes prepared) or { type: 'error' }
 *   <- { type: 'close' }  -> { type: 'closed' }  (bye sent, node stopped)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DmemError, ErrorCodes } from '../errors';
import { MemoryNode } from '../node/memory-node';
import { RemoteSession, type LaneHandle, type RdmaOptions } from '../transport/remote-session';
import type { RemoteEndpoint } from './options';

export interface SessionHostInit {
  /** The memory node; undefined: start an embedded one here. */
  remote: RemoteEndpoint | undefined;
  embedded: { transport: 'tcp' | 'shm'; slabSize: number };
  rdma: RdmaOptions | undefined;
  timeoutMs: number;
  /** Region bytes: slabs are leased until they cover it. */
  size: number;
  /** Slab sizes must be a multiple of this (the largest block). */
  slabAlign: number;
  lanes: number;
  laneMaxInflight: number;
  reclaimerMaxInflight: number;
}

export type SessionHostReport =
  | {
      type: 'ready';
      slabSize: number;
      addresses: number[];
      keys: number[];
      lanes: LaneHandle[];
      reclaimer: LaneHandle;
    }
  | { type: 'error'; message: string; code?: string; errno?: number }
  | { type: 'closed' };

async function start(init: SessionHostInit): Promise<{ session: RemoteSession; node: MemoryNode | undefined }> {
  let node: MemoryNode | undefined;
  let endpoint = init.remote;
  if (endpoint === undefined) {
    const slabs = Math.ceil(init.size / init.embedded.slabSize);
    node = await MemoryNode.start({
      listen: '127.0.0.1:0',
      size: slabs * init.embedded.slabSize,
      slabSize: init.embedded.slabSize,
      transport: init.embedded.transport,
    });
    endpoint = { host: node.address.host, port: node.address.port };
  }
  let session: RemoteSession;
  try {
    session = await RemoteSession.open({ ...endpoint, client: 'dmem region', timeoutMs: init.timeoutMs, rdma: init.rdma });
  } catch (error) {
    await node?.close();
    throw error;
  }
  return { session, node };
}

async function prepare(init: SessionHostInit, session: RemoteSession): Promise<SessionHostReport> {
  const slabSize = session.handle.slabSize;
  if (slabSize % init.slabAlign !== 0) {
    throw new DmemError(`the memory node's slab size ${slabSize} is not a multiple of ${init.slabAlign / 1024} KiB: serve with --slab-size a multiple of it`, ErrorCodes.invalidOption);
  }
  const addresses: number[] = [];
  const keys: number[] = [];
  for (let i = 0; i < Math.ceil(init.size / slabSize); i++) {
    const lease = await session.lease();
    addresses.push(lease.address);
    keys.push(lease.key);
  }
  // Each lane gets its own prepared lane: for verbs, a queue pair connected
  // here, through the control protocol.
  const lanes: LaneHandle[] = [];
  for (let lane = 0; lane < init.lanes; lane++) lanes.push(await session.prepareLane({ maxInflight: init.laneMaxInflight }));
  const reclaimer = await session.prepareLane({ maxInflight: init.reclaimerMaxInflight });
  return { type: 'ready', slabSize, addresses, keys, lanes, reclaimer };
}

async function main(): Promise<void> {
  const port = parentPort!;
  const init = workerData as SessionHostInit;
  let held: { session: RemoteSession; node: MemoryNode | undefined } | undefined;
  const stop = async (): Promise<void> => {
    await held?.session.close().catch(() => undefined);
    await held?.node?.close().catch(() => undefined);
    held = undefined;
  };
  port.on('message', (message: { type: string }) => {
    if (message.type !== 'close') return;
    void stop().then(() => {
      port.postMessage({ type: 'closed' } satisfies SessionHostReport);
      port.close();
    });
  });
  try {
    held = await start(init);
    port.postMessage(await prepare(init, held.session));
  } catch (error) {
    await stop();
    const e = error as Error & { code?: string; errno?: number };
    port.postMessage({ type: 'error', message: e.message, code: e.code, errno: e.errno } satisfies SessionHostReport);
    port.close();
  }
}

void main();
