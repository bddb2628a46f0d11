/**
 * Which session holds each slot of a memory node's pool. Leases take the
 * lowest free slot; a slot whose revoke failed is quarantined (its memory may
 * not read as zeros) and never leased again.
 */
export class SlotTable {
  /** Per slot: the owning session id, QUARANTINED, or undefined when free. */
  readonly #owner: (number | undefined)[];
  /** Every slot below this index is taken, so the lowest free slot is at or above it. */
  #lowestFreeHint = 0;

  static readonly QUARANTINED = -1;

  constructor(slots: number) {
    this.#owner = new Array<number | undefined>(slots).fill(undefined);
  }

  get size(): number {
    return this.#owner.length;
  }

  freeCount(): number {
    let free = 0;
    for (const owner of this.#owner) if (owner === undefined) free++;
    return free;
  }

  lowestFree(): number | undefined {
    for (let slot = this.#lowestFreeHint; slot < this.#owner.length; slot++) {
      if (this.#owner[slot] === undefined) return slot;
    }
    return undefined;
  }

  take(slot: number, session: number): void {
    this.#owner[slot] = session;
    this.#lowestFreeHint = slot + 1;
  }

  free(slot: number): void {
    this.#owner[slot] = undefined;
    if (slot < this.#lowestFreeHint) this.#lowestFreeHint = slot;
  }

  quarantine(slot: number): void {
    this.#owner[slot] = SlotTable.QUARANTINED;
  }
}
