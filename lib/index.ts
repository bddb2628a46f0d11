/** dmem: disaggregated memory for virtual machines and processes. Public exports only. */
export { DmemError, SystemError, OptionError, ErrorCodes } from './errors';
export {
  UffdRegion,
  PAGE_SIZE,
  PageCategory,
  type UffdRegionOptions,
  type UffdRegionHandle,
  type WriteProtectMode,
  type PagemapRange,
} from './uffd/uffd-region';
export {
  EVENT_STRIDE,
  EVENT_OFFSET,
  EVENT_KIND,
  EVENT_WRITE,
  EVENT_TID,
  EVENTS_CLOSED,
  FaultKind,
  eventBuffer,
} from './uffd/event-layout';
export { uffdAccess, resolveUffdAccess, UFFD_ATTEMPTS, type UffdAccess, type UffdMode, type UffdProber } from './uffd/open';
export { FEATURE_NAMES, type UffdFeatures, type FeatureName } from './uffd/features';
export { collectInfo, type DmemInfo } from './info';
export { parseSize, formatBytes } from './util/size';
export { ControlServer, type ControlServerOptions, type ControlServerStats } from './node/control-server';
export { MemoryNodeClient, type MemoryNodeClientOptions, type Lease } from './node/control-client';
export { PROTOCOL_VERSION, type WelcomeMessage } from './node/messages';
export { MAX_FRAME_BYTES } from './node/frames';
export type { SlabBackend, SlabGrant, BackendStats, DataEndpoint, TransportKind } from './node/backend';
export { MemoryNode, type MemoryNodeOptions } from './node/memory-node';
export { RemoteSession, type RemoteSessionHandle, type RemoteSessionOptions } from './transport/remote-session';
export { DataConnection } from './transport/data-connection';
export { StagingBuffer } from './transport/staging-buffer';
export { CompletionError, completionError } from './transport/completion-error';
export {
  OP_STRIDE,
  OP_KIND,
  OP_TAG,
  OP_STAGING_OFFSET,
  OP_REMOTE_ADDRESS,
  OP_LENGTH,
  OP_KEY,
  OpKind,
  COMPLETION_STRIDE,
  COMPLETION_TAG,
  COMPLETION_STATUS,
  COMPLETION_BYTES,
  MAX_OP_BYTES,
  opBuffer,
  completionBuffer,
  setOp,
} from './transport/layout';
export { createRegion, attachRegion, Region, type RegionHandle } from './region/region';
export { createPagerPool, PagerPool } from './region/pager-pool';
export type { RegionOptions, RemoteEndpoint } from './region/options';
export type { RegionStats, LaneStats } from './region/stats';
export { WorkCompletionError } from './transport/completion-error';
export { WC_STATUS_BASE } from './transport/layout';
export type { LaneHandle, RdmaOptions } from './transport/remote-session';
export { DEFAULT_SPIN_US, type DataConnectionOptions } from './transport/data-connection';
export type { QueuePairEndpoint } from './node/backend';
export { VerbsSlabBackend, type VerbsBackendOptions } from './verbs/verbs-backend';
export { VerbsErrorCodes } from './verbs/errors';
