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
