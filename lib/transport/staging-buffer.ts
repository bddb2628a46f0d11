/**
 * Page-aligned native memory that data operations read into and write from.
 * `view()` is an ArrayBuffer over it (no copy) that keeps it alive.
 */
import { OptionError } from '../errors';
import { loadCore, type NativeStaging } from '../native/binding';

export class StagingBuffer {
  readonly #native: NativeStaging;

  constructor(bytes: number) {
    if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % 4096 !== 0) {
      throw new OptionError('staging bytes', `expected a positive multiple of 4096, got ${bytes}`);
    }
    const { NativeStaging: Staging } = loadCore();
    this.#native = new Staging(bytes);
  }

  get size(): number {
    return this.#native.size;
  }

  view(): ArrayBuffer {
    return this.#native.view();
  }

  /** @internal the native handle, for DataConnection. */
  get native(): NativeStaging {
    return this.#native;
  }
}
