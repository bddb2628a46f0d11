// Real userfaultfd faults: workers touch region memory, this thread resolves.
import { afterEach, describe, expect, it } from 'vitest';
import { FaultKind, UffdRegion } from '../../dist/index.js';
import { PAGE, Toucher, marker, pageOf, printSkip, serveFaults, uffdSkipReason } from '../helpers/uffd';

const skip = uffdSkipReason();
printSkip(skip, 'real-fault tests');

describe.skipIf(skip !== undefined)('userfaultfd region, real faults', () => {
  let region: UffdRegion | undefined;
  afterEach(() => {
    region?.close();
    region = undefined;
  });

  it('resolves MISSING faults with COPY and the worker reads the right data', async () => {
    region = UffdRegion.create({ size: 64 * PAGE });
    const pages = [0, 5, 17, 63, 1, 2];
    const toucher = new Toucher(region, [pages.map((page) => ({ op: 'read' as const, page }))]);
    toucher.release(0);
    const r = region;
    const events = serveFaults(r, () => toucher.completed() >= 1, (e) => {
      expect(r.copy(e.offset, pageOf(marker(e.page)))).toBe(1);
    });
    await toucher.exited;
    expect(pages.map((_, i) => toucher.result(0, i))).toEqual(pages.map(marker));
    expect(events.map((e) => e.page)).toEqual(pages);
    expect(events.every((e) => e.kind === FaultKind.missing && !e.write && e.tid > 0)).toBe(true);
  });

  it('a zapped resident page raises MINOR and CONTINUE maps it with its data intact', async () => {
    region = UffdRegion.create({ size: 16 * PAGE });
    const r = region;
    const toucher = new Toucher(r, [
      [{ op: 'write', page: 3, value: 0xabcd1234 }],
      [{ op: 'read', page: 3 }],
    ]);
    toucher.release(0);
    const first = serveFaults(r, () => toucher.completed() >= 1, (e) => r.copy(e.offset, pageOf(0)));
    expect(first.map((e) => [e.page, e.kind, e.write])).toEqual([[3, FaultKind.missing, true]]);
    r.dontneed(3 * PAGE, PAGE);
    toucher.release(1);
    const second = serveFaults(r, () => toucher.completed() >= 2, (e) => {
      expect(r.continue(e.offset, PAGE)).toBe(1);
    });
    await toucher.exited;
    expect(second.map((e) => [e.page, e.kind])).toEqual([[3, FaultKind.minor]]);
    expect(toucher.result(1, 0)).toBe(0xabcd1234);
  });

  it('a punched page raises MISSING again and takes the new content', async () => {
    region = UffdRegion.create({ size: 16 * PAGE });
    const r = region;
    const toucher = new Toucher(r, [[{ op: 'read', page: 7 }], [{ op: 'read', page: 7 }]]);
    toucher.release(0);
    serveFaults(r, () => toucher.completed() >= 1, (e) => r.copy(e.offset, pageOf(111)));
    expect(r.allocatedBytes()).toBe(PAGE);
    r.punchHole(7 * PAGE, PAGE);
    expect(r.allocatedBytes()).toBe(0);
    toucher.release(1);
    const again = serveFaults(r, () => toucher.completed() >= 2, (e) => r.copy(e.offset, pageOf(222)));
    await toucher.exited;
    expect(again.map((e) => [e.page, e.kind])).toEqual([[7, FaultKind.missing]]);
    expect([toucher.result(0, 0), toucher.result(1, 0)]).toEqual([111, 222]);
  });

  it('a block COPY over partly present pages installs only the missing ones', async () => {
    region = UffdRegion.create({ size: 16 * PAGE });
    const r = region;
    expect(r.copy(1 * PAGE, pageOf(1001))).toBe(1);
    expect(r.copy(3 * PAGE, pageOf(1003))).toBe(1);
    expect(r.copy(7 * PAGE, pageOf(1007))).toBe(1);
    const block = new Uint32Array(8 * (PAGE / 4));
    for (let p = 0; p < 8; p++) block.fill(2000 + p, p * (PAGE / 4), (p + 1) * (PAGE / 4));
    // Meets present pages in the middle and at the end: EAGAIN partial counts
    // and EEXIST are both handled inside copy().
    expect(r.copy(0, block)).toBe(5);
    expect(r.copy(0, block)).toBe(0);
    const toucher = new Toucher(r, [[0, 1, 2, 3, 4, 5, 6, 7].map((page) => ({ op: 'read' as const, page }))]);
    toucher.release(0);
    const events = serveFaults(r, () => toucher.completed() >= 1, () => undefined);
    await toucher.exited;
    expect(events).toEqual([]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((_, i) => toucher.result(0, i))).toEqual([
      2000, 1001, 2002, 1003, 2004, 2005, 2006, 1007,
    ]);
  });

  it('a block COPY that covers a faulting page wakes the faulting thread', async () => {
    region = UffdRegion.create({ size: 64 * PAGE });
    const r = region;
    const toucher = new Toucher(r, [[{ op: 'read', page: 21 }, { op: 'read', page: 16 }, { op: 'read', page: 31 }]]);
    toucher.release(0);
    const events = serveFaults(r, () => toucher.completed() >= 1, (e) => {
      const start = Math.floor(e.page / 16) * 16;
      const block = new Uint32Array(16 * (PAGE / 4));
      for (let p = 0; p < 16; p++) block.fill(marker(start + p), p * (PAGE / 4), (p + 1) * (PAGE / 4));
      r.copy(start * PAGE, block);
    });
    await toucher.exited;
    expect(events.map((e) => e.page)).toEqual([21]);
    expect([0, 1, 2].map((i) => toucher.result(0, i))).toEqual([marker(21), marker(16), marker(31)]);
  });

  it('two threads faulting on one page both resume with the right data', async () => {
    region = UffdRegion.create({ size: 16 * PAGE });
    const r = region;
    const a = new Toucher(r, [[{ op: 'read', page: 9 }]]);
    const b = new Toucher(r, [[{ op: 'read', page: 9 }]]);
    a.release(0);
    b.release(0);
    // Hold the fault until both threads wait on it (or 10 s pass), so the
    // second message is a duplicate by the time it is handled.
    const pending: number[] = [];
    const installed: number[] = [];
    const deadline = Date.now() + 10_000;
    const events = serveFaults(
      r,
      () => a.completed() >= 1 && b.completed() >= 1,
      (e) => {
        pending.push(e.tid);
        if (pending.length === 2 || Date.now() > deadline) {
          for (let i = 0; i < pending.length; i++) installed.push(r.copy(e.offset, pageOf(0x99)));
          pending.length = 0;
        }
      },
    );
    if (pending.length > 0) installed.push(r.copy(9 * PAGE, pageOf(0x99)));
    await Promise.all([a.exited, b.exited]);
    expect([a.result(0, 0), b.result(0, 0)]).toEqual([0x99, 0x99]);
    expect(events.length).toBe(2);
    expect(new Set(events.map((e) => e.tid)).size).toBe(2);
    // The first COPY installs; the duplicate meets a present page (EEXIST)
    // and only wakes its waiter.
    expect(installed).toEqual([1, 0]);
  });

  it('a COPY that meets a page already in the page cache (EEXIST) still wakes the waiter', async () => {
    region = UffdRegion.create({ size: 16 * PAGE });
    const r = region;
    const toucher = new Toucher(r, [[{ op: 'read', page: 3 }]]);
    toucher.release(0);
    const kinds: number[] = [];
    const results: number[] = [];
    serveFaults(r, () => toucher.completed() >= 1, (e) => {
      kinds.push(e.kind);
      if (e.kind === FaultKind.missing) {
        // Another path filled the page cache meanwhile: the MISSING message is
        // stale. COPY finds the page (EEXIST) and must wake the thread, which
        // then faults MINOR on the unmapped cached page.
        r.pwrite(e.offset, pageOf(0x33));
        results.push(r.copy(e.offset, pageOf(0x44)));
      } else {
        results.push(r.continue(e.offset, PAGE));
      }
    });
    await toucher.exited;
    expect(kinds).toEqual([FaultKind.missing, FaultKind.minor]);
    expect(results).toEqual([0, 1]);
    expect(toucher.result(0, 0)).toBe(0x33);
  });

  it('ZEROPAGE resolves a fault with zeros', async () => {
    region = UffdRegion.create({ size: 16 * PAGE });
    const r = region;
    const toucher = new Toucher(r, [[{ op: 'read', page: 4 }]]);
    toucher.release(0);
    serveFaults(r, () => toucher.completed() >= 1, (e) => {
      expect(r.zeropage(e.offset, PAGE)).toBe(1);
    });
    await toucher.exited;
    expect(toucher.result(0, 0)).toBe(0);
  });

  it('a write to a page installed write-protected raises a WP fault; unprotecting lets it through', async () => {
    region = UffdRegion.create({ size: 16 * PAGE, writeProtect: 'sync' });
    const r = region;
    expect(r.copy(2 * PAGE, pageOf(5), 0, PAGE, true)).toBe(1);
    const toucher = new Toucher(r, [[{ op: 'read', page: 2 }, { op: 'write', page: 2, value: 77 }]]);
    toucher.release(0);
    const events = serveFaults(r, () => toucher.completed() >= 1, (e) => {
      expect(e.kind).toBe(FaultKind.writeProtect);
      r.writeProtect(e.offset, PAGE, false);
    });
    await toucher.exited;
    expect(events.map((e) => [e.page, e.kind, e.write])).toEqual([[2, FaultKind.writeProtect, true]]);
    expect([toucher.result(0, 0), toucher.result(0, 1)]).toEqual([5, 77]);
  });

  it('CONTINUE with write-protect keeps a zapped clean page tracked', async () => {
    region = UffdRegion.create({ size: 16 * PAGE, writeProtect: 'sync' });
    const r = region;
    r.pwrite(6 * PAGE, pageOf(6));
    const toucher = new Toucher(r, [[{ op: 'write', page: 6, value: 66 }]]);
    toucher.release(0);
    const events = serveFaults(r, () => toucher.completed() >= 1, (e) => {
      if (e.kind === FaultKind.minor) r.continue(e.offset, PAGE, true);
      else r.writeProtect(e.offset, PAGE, false);
    });
    await toucher.exited;
    expect(events.map((e) => e.kind)).toEqual([FaultKind.minor, FaultKind.writeProtect]);
    expect(toucher.result(0, 0)).toBe(66);
  });
});
