/**
 * userfaultfd features, decoded from the UFFDIO_API handshake into names a
 * person can read. The numeric values come from the native addon (kernel
 * headers plus native/core/uffd/kernel_compat.h), never from this file.
 */
import type { KernelConstants } from '../native/binding';

/** Every feature dmem knows, by the name `dmem info` prints. */
export const FEATURE_NAMES = {
  pagefaultFlagWp: 'UFFD_FEATURE_PAGEFAULT_FLAG_WP',
  eventFork: 'UFFD_FEATURE_EVENT_FORK',
  eventRemap: 'UFFD_FEATURE_EVENT_REMAP',
  eventRemove: 'UFFD_FEATURE_EVENT_REMOVE',
  missingHugetlbfs: 'UFFD_FEATURE_MISSING_HUGETLBFS',
  missingShmem: 'UFFD_FEATURE_MISSING_SHMEM',
  eventUnmap: 'UFFD_FEATURE_EVENT_UNMAP',
  sigbus: 'UFFD_FEATURE_SIGBUS',
  threadId: 'UFFD_FEATURE_THREAD_ID',
  minorHugetlbfs: 'UFFD_FEATURE_MINOR_HUGETLBFS',
  minorShmem: 'UFFD_FEATURE_MINOR_SHMEM',
  exactAddress: 'UFFD_FEATURE_EXACT_ADDRESS',
  wpShmem: 'UFFD_FEATURE_WP_HUGETLBFS_SHMEM',
  wpUnpopulated: 'UFFD_FEATURE_WP_UNPOPULATED',
  poison: 'UFFD_FEATURE_POISON',
  wpAsync: 'UFFD_FEATURE_WP_ASYNC',
  move: 'UFFD_FEATURE_MOVE',
} as const;

export type FeatureName = keyof typeof FEATURE_NAMES;

/** What the kernel offers, as booleans, plus PAGEMAP_SCAN (not a uffd feature). */
export type UffdFeatures = { readonly [K in FeatureName]: boolean } & { readonly pagemapScan: boolean };

export function decodeFeatures(bits: number, constants: KernelConstants, pagemapScan: boolean): UffdFeatures {
  const features: Record<string, boolean> = {};
  for (const [name, constant] of Object.entries(FEATURE_NAMES)) {
    features[name] = hasBit(bits, constants[constant]);
  }
  features.pagemapScan = pagemapScan;
  return features as UffdFeatures;
}

export function featureList(features: UffdFeatures): string[] {
  return Object.entries(features)
    .filter(([, on]) => on)
    .map(([name]) => name);
}

/** Feature bits stay below 2^32, but use arithmetic that would not care. */
export function hasBit(bits: number, bit: number | undefined): boolean {
  if (bit === undefined || bit === 0) return false;
  return Math.floor(bits / bit) % 2 === 1;
}
