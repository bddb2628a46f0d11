/**
 * UffdRegion: the typed facade over a userfaultfd region (a sparse memfd,
 * mapped MAP_SHARED and registered MISSING|MINOR, and WP where offered).
 * Mechanism only: it resolves faults the way it is told. The pager
 * (control plane) decides what to fetch, map, zap and punch.
 *
 * Any thread may use a region: post `region.handle` to a worker and call
 * `UffdRegion.attach(handle)` there. The creating handle is the owner: its
 * close() frees the region's memory and releases every faulting thread;
 * an attached handle's close() only lets go of it.
 *
 * Methods take byte offsets from the region's base, page-aligned. Buffers are
 * caller-owned; nothing here allocates per call.
 */
import { DmemError, ErrorCodes, OptionError } from '../errors';
import { loadCore, type NativeRegion } from '../native/binding';
import { hasBit, type UffdFeatures } from './features';
import { uffdAccess, type UffdMode } from './open';
import { parseSize } from '../util/size';

export const PAGE_SIZE = 4096;

/**
 * How writes are tracked:
 * - 'sync': register WP; write-protected pages raise WP fault events.
 * - 'async': WP_ASYNC; the kernel resolves WP faults itself and PAGEMAP_SCAN
 *   reports written pages.
 * - 'off': no WP registration.
 * - 'auto' (default): 'sync' where the kernel offers WP on shmem, else 'off'.
 */
export type WriteProtectMode = 'auto' | 'sync' | 'async' | 'off';

export interface UffdRegionOptions {
  /** Bytes, or a string such as '512M'; rounded up to whole pages. */
  size: number | string;
  writeProtect?: WriteProtectMode;
  /** The memfd's name, as /proc/PID/maps shows it. */
  name?: string;
}

/** Structured-cloneable: post it to a worker and attach there. */
export interface UffdRegionHandle {
  readonly id: number;
  readonly size: number;
  readonly address: number;
}

export interface PagemapRange {
  start: number;
  end: number;
  categories: number;
}

/** PAGEMAP_SCAN categories (linux/fs.h). */
export const PageCategory = {
  wpAllowed: 1 << 0,
  written: 1 << 1,
  file: 1 << 2,
  present: 1 << 3,
  swapped: 1 << 4,
  pfnZero: 1 << 5,
  huge: 1 << 6,
  softDirty: 1 << 7,
} as const;

type Bytes = ArrayBuffer | ArrayBufferView;

export class UffdRegion {
  readonly #native: NativeRegion;
  readonly #mode: UffdMode;
  readonly #writeProtect: Exclude<WriteProtectMode, 'auto'>;
  readonly #size: number;
  readonly #id: number;

  private constructor(native: NativeRegion, mode: UffdMode, writeProtect: Exclude<WriteProtectMode, 'auto'>) {
    this.#native = native;
    this.#mode = mode;
    this.#writeProtect = writeProtect;
    this.#size = native.size;
    this.#id = native.id;
  }

  static create(options: UffdRegionOptions): UffdRegion {
    const size = roundToPage(parseSize(options.size, 'size'));
    if (size <= 0) throw new OptionError('size', `must be at least ${PAGE_SIZE} bytes, got ${String(options.size)}`);
    const access = uffdAccess();
    const { constants } = loadCore();
    const f = access.features;
    if (!f.missingShmem || !f.minorShmem) {
      throw new DmemError(
        'this kernel lacks userfaultfd on shmem (UFFD_FEATURE_MISSING_SHMEM and MINOR_SHMEM are needed): use Linux >= 5.19',
        ErrorCodes.uffdFeature,
      );
    }
    const writeProtect = chooseWriteProtect(options.writeProtect ?? 'auto', f);
    let features = constants.UFFD_FEATURE_MISSING_SHMEM + constants.UFFD_FEATURE_MINOR_SHMEM;
    if (f.threadId) features += constants.UFFD_FEATURE_THREAD_ID;
    // MISSING and MINOR together: with MINOR alone a hole is silently
    // zero-filled and an evicted page would come back as zeros.
    let mode = constants.UFFDIO_REGISTER_MODE_MISSING + constants.UFFDIO_REGISTER_MODE_MINOR;
    if (writeProtect !== 'off') {
      features += constants.UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
      mode += constants.UFFDIO_REGISTER_MODE_WP;
    }
    if (writeProtect === 'async') features += constants.UFFD_FEATURE_WP_ASYNC;
    const native = loadCore().createRegion(
      access.path,
      access.userModeOnly,
      size,
      features,
      mode,
      options.name ?? 'dmem-region',
    );
    return new UffdRegion(native, access.mode, writeProtect);
  }

  /** Attach, in any thread of this process, to a region created elsewhere. */
  static attach(handle: UffdRegionHandle): UffdRegion {
    if (typeof handle !== 'object' || handle === null || !Number.isInteger(handle.id)) {
      throw new OptionError('handle', 'expected the `handle` of a UffdRegion ({ id, size, address })');
    }
    const native = loadCore().attachRegion(handle.id);
    if (native.size !== handle.size || native.address !== handle.address) {
      native.close();
      throw new DmemError(`attach: region ${handle.id} does not match its handle`, ErrorCodes.closed);
    }
    const { constants } = loadCore();
    const wp = hasBit(native.registerMode, constants.UFFDIO_REGISTER_MODE_WP);
    const async = hasBit(native.features, constants.UFFD_FEATURE_WP_ASYNC);
    return new UffdRegion(native, uffdAccess().mode, wp ? (async ? 'async' : 'sync') : 'off');
  }

  get handle(): UffdRegionHandle {
    return { id: this.#id, size: this.#size, address: this.address };
  }
  /** The base address, for native code and VMMs (exact: below 2^53). */
  get address(): number {
    return this.#native.address;
  }
  get size(): number {
    return this.#size;
  }
  get mode(): UffdMode {
    return this.#mode;
  }
  get writeProtectMode(): Exclude<WriteProtectMode, 'auto'> {
    return this.#writeProtect;
  }
  get isOwner(): boolean {
    return this.#native.owner;
  }
  get closed(): boolean {
    return this.#native.closed;
  }

  /**
   * An ArrayBuffer over region memory, in this thread, without copying.
   * Touching a page that is not resident raises a fault that a handler in
   * another thread must resolve. The view keeps the mapping alive; after the
   * owner closes the region it reads as zeros.
   */
  view(offset = 0, length = this.#size - offset): ArrayBuffer {
    return this.#native.view(offset, length);
  }

  /** UFFDIO_COPY `length` bytes from src[srcOffset..]; present pages are skipped and woken. Returns pages installed. */
  copy(offset: number, src: Bytes, srcOffset = 0, length = byteLength(src) - srcOffset, writeProtect = false): number {
    return this.#native.copy(offset, src, srcOffset, length, writeProtect);
  }
  /** UFFDIO_CONTINUE: map pages already in the memfd. Returns pages mapped. */
  continue(offset: number, length: number, writeProtect = false): number {
    if (writeProtect && !this.continueWriteProtect) {
      throw featureMissing('continue(..., writeProtect)', 'UFFDIO_CONTINUE_MODE_WP (Linux >= 6.4) on a region registered for WP');
    }
    return this.#native.continue(offset, length, writeProtect);
  }

  /**
   * Whether continue() can map a page write-protected (UFFDIO_CONTINUE_MODE_WP).
   * It has no feature bit of its own: it came in Linux 6.4 with
   * UFFD_FEATURE_WP_UNPOPULATED, whose bit stands for both. Without it (6.1
   * answers EINVAL), a pager cannot track writes to pages it maps by CONTINUE.
   */
  get continueWriteProtect(): boolean {
    return this.#writeProtect !== 'off' && continueWriteProtectSupported(uffdAccess().features);
  }
  /** UFFDIO_ZEROPAGE. Returns pages installed. */
  zeropage(offset: number, length: number): number {
    return this.#native.zeropage(offset, length);
  }
  wake(offset: number, length: number): void {
    this.#native.wake(offset, length);
  }
  /** UFFDIO_POISON (Linux 6.6): threads faulting on the range get SIGBUS. Returns pages poisoned. */
  poison(offset: number, length: number): number {
    return this.#native.poison(offset, length);
  }
  /** UFFDIO_WRITEPROTECT: protect (true) or unprotect (false); unprotecting wakes by default. */
  writeProtect(offset: number, length: number, protect: boolean, wake = !protect): void {
    this.#native.writeProtect(offset, length, protect, wake);
  }
  /**
   * Blocks up to timeoutMs (-1: forever) for fault events; writes them into
   * `out` (see event-layout.ts) and returns their count, 0 on timeout, or
   * EVENTS_CLOSED (-1) once the region is closed.
   */
  readEvents(out: Float64Array, timeoutMs: number): number {
    return this.#native.readEvents(out, timeoutMs);
  }
  /** Reads the memfd (the page cache), never faulting. */
  pread(offset: number, dst: Bytes, dstOffset = 0, length = byteLength(dst) - dstOffset): number {
    return this.#native.pread(offset, dst, dstOffset, length);
  }
  /** Writes the memfd (the page cache), never faulting; the pages become minor-fault mappable. */
  pwrite(offset: number, src: Bytes, srcOffset = 0, length = byteLength(src) - srcOffset): number {
    return this.#native.pwrite(offset, src, srcOffset, length);
  }
  /** Frees the pages: the next touch raises MISSING. */
  punchHole(offset: number, length: number): void {
    this.#native.punchHole(offset, length);
  }
  /** Unmaps the pages but keeps the page cache: the next touch raises MINOR. */
  dontneed(offset: number, length: number): void {
    this.#native.dontneed(offset, length);
  }
  /** Bytes of memory the memfd holds (fstat st_blocks * 512). */
  allocatedBytes(): number {
    return this.#native.allocatedBytes();
  }
  /**
   * PAGEMAP_SCAN (Linux 6.7): ranges whose categories match. `out` receives
   * (start, end, categories) triples; returns the count. With
   * `writeProtectMatching`, matching pages are write-protected again (the
   * WP_ASYNC dirty-tracking reset).
   */
  pagemapScan(
    offset: number,
    length: number,
    out: Float64Array,
    query: { mask?: number; anyOf?: number; inverted?: number; returnMask?: number; writeProtectMatching?: boolean },
  ): number {
    const { constants } = loadCore();
    const flags = query.writeProtectMatching ? constants.PM_SCAN_WP_MATCHING : 0;
    const returnMask = query.returnMask ?? 0xff;
    return this.#native.pagemapScan(
      offset,
      length,
      flags,
      query.inverted ?? 0,
      query.mask ?? 0,
      query.anyOf ?? 0,
      returnMask,
      out,
    );
  }

  /** Safe to call twice. The owner frees the region; an attached handle detaches. */
  close(): void {
    this.#native.close();
  }
}

function chooseWriteProtect(requested: WriteProtectMode, f: UffdFeatures): Exclude<WriteProtectMode, 'auto'> {
  switch (requested) {
    case 'auto':
      return f.wpShmem ? 'sync' : 'off';
    case 'off':
      return 'off';
    case 'sync':
      if (!f.wpShmem) throw featureMissing('writeProtect: "sync"', 'UFFD_FEATURE_WP_HUGETLBFS_SHMEM (Linux >= 5.19)');
      return 'sync';
    case 'async':
      if (!f.wpShmem || !f.wpAsync) throw featureMissing('writeProtect: "async"', 'UFFD_FEATURE_WP_ASYNC (Linux >= 6.7)');
      return 'async';
    default:
      throw new OptionError('writeProtect', `expected 'auto', 'sync', 'async' or 'off', got ${JSON.stringify(requested)}`);
  }
}

/** Whether this kernel can map shmem pages write-protected by CONTINUE (see UffdRegion.continueWriteProtect). */
export function continueWriteProtectSupported(f: UffdFeatures): boolean {
  return f.wpShmem && f.wpUnpopulated;
}

function featureMissing(what: string, feature: string): DmemError {
  return new DmemError(`${what} needs ${feature}, which this kernel does not offer; use 'auto' or 'off'`, ErrorCodes.uffdFeature);
}

function roundToPage(bytes: number): number {
  return Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
}

function byteLength(b: Bytes): number {
  return b.byteLength;
}
