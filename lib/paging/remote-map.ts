/**
 * Where each region page lives on the memory node: the region is laid out
 * over its leased slabs in order, page p in slab floor(p / pagesPerSlab).
 * Blocks are aligned and at most 256 KiB, and slabs are multiples of that, so
 * a block never spans two slabs.
 */
import { PAGE_SIZE } from './layout';

export interface SlabTable {
  slabSize: number;
  addresses: number[];
  keys: number[];
}

export class RemoteMap {
  readonly pagesPerSlab: number;
  readonly #addresses: Float64Array;
  readonly #keys: Float64Array;

  constructor(table: SlabTable) {
    this.pagesPerSlab = table.slabSize / PAGE_SIZE;
    this.#addresses = Float64Array.from(table.addresses);
    this.#keys = Float64Array.from(table.keys);
  }

  address(page: number): number {
    const slab = Math.floor(page / this.pagesPerSlab);
    return this.#addresses[slab] + (page - slab * this.pagesPerSlab) * PAGE_SIZE;
  }

  key(page: number): number {
    return this.#keys[Math.floor(page / this.pagesPerSlab)];
  }

  /** Whether pages a and b (a < b) sit in the same slab. */
  sameSlab(a: number, b: number): boolean {
    return Math.floor(a / this.pagesPerSlab) === Math.floor(b / this.pagesPerSlab);
  }
}
