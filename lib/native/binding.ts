/**
 * Loads the native addons and describes their interface. Nothing outside
 * lib/ imports this: the public API wraps it (lib/uffd/, lib/info.ts).
 *
 * dmem_core is always built. dmem_verbs exists only where libibverbs'
 * headers were installed at build time; loadVerbs() says how to get it.
 */
import bindings from 'bindings';
import { DmemError, ErrorCodes, SystemError } from '../errors';
import type { QueuePairEndpoint } from '../node/backend';

export interface KernelConstants {
  readonly [name: string]: number;
}

/** Raw handle of a userfaultfd region; see native/addon/region_wrap.cc. */
export interface NativeRegion {
  readonly id: number;
  readonly address: number;
  readonly size: number;
  readonly features: number;
  readonly ioctls: bigint;
  readonly registerMode: number;
  readonly owner: boolean;
  readonly closed: boolean;
  view(offset: number, length: number): ArrayBuffer;
  copy(offset: number, src: ArrayBuffer | ArrayBufferView, srcOffset: number, length: number, writeProtect: boolean): number;
  continue(offset: number, length: number, writeProtect: boolean): number;
  zeropage(offset: number, length: number): number;
  wake(offset: number, length: number): void;
  poison(offset: number, length: number): number;
  writeProtect(offset: number, length: number, protect: boolean, wake: boolean): void;
  readEvents(out: Float64Array, timeoutMs: number): number;
  pread(offset: number, dst: ArrayBuffer | ArrayBufferView, dstOffset: number, length: number): number;
  pwrite(offset: number, src: ArrayBuffer | ArrayBufferView, srcOffset: number, length: number): number;
  punchHole(offset: number, length: number): void;
  dontneed(offset: number, length: number): void;
  allocatedBytes(): number;
  pagemapScan(
    offset: number,
    length: number,
    flags: number,
    categoryInverted: number,
    categoryMask: number,
    categoryAnyofMask: number,
    returnMask: number,
    out: Float64Array,
  ): number;
  close(): void;
}

export const UffdOpenPath = {
  Syscall: 0,
  DevNode: 1,
} as const;
export type UffdOpenPath = (typeof UffdOpenPath)[keyof typeof UffdOpenPath];

export interface NativeNodeBackendOptions {
  pool: 'memory' | 'file';
  file?: string;
  slabSize: number;
  slots: number;
  addressBase: number;
  tcp: boolean;
  host?: string;
  port?: number;
  unixPath?: string;
}

export interface NativeNodeBackend {
  readonly port: number;
  readonly fileDirect: boolean;
  openSession(session: number, secret: string): void;
  closeSession(session: number): void;
  grant(slot: number, session: number, key: number): number;
  revoke(slot: number): void;
  stats(): { reads: number; writes: number; bytesRead: number; bytesWritten: number; refused: number; dataConnections: number };
  close(): void;
}

export interface NativeStaging {
  readonly size: number;
  view(): ArrayBuffer;
}

export interface NativeSessionOptions {
  kind: 0 | 1 | 2;
  host?: string;
  port?: number;
  unixPath?: string;
  secret: string;
  slabSize: number;
  slots: number;
  addressBase: number;
  timeoutMs: number;
}

export interface NativeSession {
  readonly id: number;
  readonly lost: boolean;
  addSlab(slot: number, key: number): void;
  removeSlab(slot: number): void;
  markLost(): void;
  close(): void;
}

export interface NativeConnection {
  readonly inflight: number;
  /** 0, or the errno that broke the connection. */
  readonly broken: number;
  post(ops: Float64Array, count: number): number;
  poll(out: Int32Array, timeoutMs: number): number;
  /** Posts and polls `op` `iterations` times, one in flight; latencyNs[i] per iteration. Returns how many succeeded. */
  runLatency(op: Float64Array, iterations: number, latencyNs: Float64Array, completion: Int32Array, timeoutMs: number): number;
  close(): void;
}

export interface NativeRawServer {
  readonly port: number;
  close(): void;
}

export interface NativeRawClient {
  /** Runs latUs.length request/responses; fills latUs (µs); returns elapsed ns. */
  run(size: number, inflight: number, latUs: Float64Array): number;
  close(): void;
}

export interface NativeFloorPager {
  stats(): { faults: number; fetchedPages: number; evictedPages: number; failures: number };
  close(): void;
}

export interface CoreBinding {
  NativeFloorPager: new (
    regionId: number,
    sessionId: number,
    addresses: Float64Array,
    keys: Float64Array,
    slabSize: number,
    blockPages: number,
    budgetPages: number,
  ) => NativeFloorPager;
  NativeRawServer: new (host: string, port: number) => NativeRawServer;
  NativeRawClient: new (host: string, port: number) => NativeRawClient;
  NativeNodeBackend: new (options: NativeNodeBackendOptions) => NativeNodeBackend;
  NativeStaging: new (bytes: number) => NativeStaging;
  NativeSession: new (options: NativeSessionOptions | number) => NativeSession;
  NativeConnection: new (session: number, staging: NativeStaging, maxInflight: number) => NativeConnection;
  setErrorClasses(system: typeof SystemError, dmem: typeof DmemError): void;
  probeUffd(path: UffdOpenPath, userModeOnly: boolean): { features: number; ioctls: bigint };
  pagemapScanAvailable(): boolean;
  createRegion(
    path: UffdOpenPath,
    userModeOnly: boolean,
    size: number,
    features: number,
    registerMode: number,
    name: string,
  ): NativeRegion;
  attachRegion(id: number): NativeRegion;
  readonly constants: KernelConstants;
}

export interface VerbsGid {
  index: number;
  gid: string;
  type: 'IB' | 'RoCEv1' | 'RoCEv2' | 'unknown';
}

export interface VerbsPort {
  port: number;
  state: string;
  linkLayer: 'InfiniBand' | 'Ethernet';
  activeMtu: number;
  lid: number;
  gids: VerbsGid[];
}

export interface VerbsDevice {
  name: string;
  nodeGuid: string;
  ports: VerbsPort[];
}

/** The port a verbs object uses, as resolved natively. */
export interface VerbsPortFacts {
  device: string;
  port: number;
  /** -1 on InfiniBand (addressed by LID). */
  gidIndex: number;
  /** colon-separated hex, as in sysfs; '' when no GID is used. */
  gid: string;
  linkLayer: 'InfiniBand' | 'Ethernet';
  lid: number;
  mtu: number;
}

export interface NativeVerbsNodeOptions {
  /** '' = the first device with an active port. */
  device: string;
  port: number;
  /** Omitted: the RoCE v2 GID of the netdev's IPv4 address. */
  gidIndex?: number;
  slabSize: number;
  slots: number;
}

export interface NativeVerbsNode {
  readonly queuePairs: number;
  describe(): VerbsPortFacts & { addressBase: number };
  openSession(session: number): void;
  closeSession(session: number): void;
  grant(slot: number, session: number): { address: number; key: number };
  revoke(slot: number): void;
  connectQp(session: number, client: QueuePairEndpoint): QueuePairEndpoint;
  disconnectQp(session: number, qpn: number): boolean;
  close(): void;
}

export interface NativeVerbsSessionOptions {
  device: string;
  port: number;
  gidIndex?: number;
  timeoutMs: number;
}

export interface NativeVerbsSession {
  readonly id: number;
  readonly lost: boolean;
  describe(): VerbsPortFacts;
  markLost(): void;
  createLane(maxInflight: number): { lane: number; endpoint: QueuePairEndpoint };
  connectLane(lane: number, node: QueuePairEndpoint): void;
  dropLane(lane: number): void;
  /** Memory-node QP numbers of lanes closed since the last call. */
  takeClosed(): number[];
  close(): void;
}

export interface VerbsBinding {
  setErrorClasses(system: typeof SystemError, dmem: typeof DmemError): void;
  listDevices(): VerbsDevice[];
  /** The enum name (IBV_WC_REM_ACCESS_ERR) and ibv_wc_status_str text of an ibv_wc_status. */
  workCompletionStatus(status: number): { name: string; text: string };
  readonly WC_STATUS_BASE: number;
  NativeVerbsNode: new (options: NativeVerbsNodeOptions) => NativeVerbsNode;
  NativeVerbsSession: new (options: NativeVerbsSessionOptions) => NativeVerbsSession;
  /** Claims a connected lane of session `session` for the calling thread and registers `staging` for it. */
  NativeVerbsConnection: new (session: number, lane: number, staging: ArrayBuffer, spinUs: number) => NativeConnection;
}

let core: CoreBinding | undefined;
let verbs: VerbsBinding | undefined;

export function loadCore(): CoreBinding {
  if (core === undefined) {
    const binding = bindings('dmem_core') as CoreBinding;
    binding.setErrorClasses(SystemError, DmemError);
    core = binding;
  }
  return core;
}

export const VERBS_INSTALL_HINT =
  'install libibverbs-dev and rdma-core (apt-get install libibverbs-dev rdma-core ibverbs-providers), then rebuild with `npm rebuild dmem` (or `npm run build:native` in a checkout)';

/** Whether dmem_verbs was built; never throws. */
export function verbsBuilt(): boolean {
  try {
    loadVerbs();
    return true;
  } catch {
    return false;
  }
}

export function loadVerbs(): VerbsBinding {
  if (verbs === undefined) {
    let binding: VerbsBinding;
    try {
      binding = bindings('dmem_verbs') as VerbsBinding;
    } catch (cause) {
      const error = new DmemError(
        `the verbs transport is not available: dmem_verbs was not built because libibverbs' headers were missing at install time; ${VERBS_INSTALL_HINT}`,
        ErrorCodes.verbsNotBuilt,
      );
      (error as Error & { cause?: unknown }).cause = cause;
      throw error;
    }
    binding.setErrorClasses(SystemError, DmemError);
    verbs = binding;
  }
  return verbs;
}
