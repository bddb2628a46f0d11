// close(), attach and bad arguments: clear errors, never a crash or a hang.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { EVENTS_CLOSED, UffdRegion, eventBuffer } from '../../dist/index.js';
import { PAGE, Toucher, pageOf, printSkip, uffdSkipReason } from '../helpers/uffd';

const DIST = path.resolve(__dirname, '../../dist/index.js');
const skip = uffdSkipReason();
printSkip(skip, 'region lifecycle tests');

function closedError(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

describe.skipIf(skip !== undefined)('region lifecycle', () => {
  it('close() twice is safe and every later use throws ERR_DMEM_CLOSED', () => {
    const r = UffdRegion.create({ size: 8 * PAGE });
    const view = new Uint8Array(r.view());
    r.copy(0, pageOf(3));
    expect(view[0]).toBe(3);
    r.close();
    r.close();
    expect(r.closed).toBe(true);
    const uses: Array<() => unknown> = [
      () => r.copy(0, pageOf(1)),
      () => r.continue(0, PAGE),
      () => r.zeropage(0, PAGE),
      () => r.wake(0, PAGE),
      () => r.writeProtect(0, PAGE, true),
      () => r.pread(0, new Uint8Array(PAGE)),
      () => r.pwrite(0, new Uint8Array(PAGE)),
      () => r.punchHole(0, PAGE),
      () => r.dontneed(0, PAGE),
      () => r.allocatedBytes(),
      () => r.view(),
      () => r.address,
      () => r.pagemapScan(0, PAGE, new Float64Array(3), {}),
    ];
    for (const use of uses) {
      const error = closedError(use);
      expect(error.code).toBe('ERR_DMEM_CLOSED');
      expect(error.message).toMatch(/region is closed/);
    }
    expect(r.readEvents(eventBuffer(1), 0)).toBe(EVENTS_CLOSED);
    // A view taken before close keeps its mapping: it reads zeros, no crash.
    expect(view[0]).toBe(0);
    expect(closedError(() => UffdRegion.attach(r.handle)).code).toBe('ERR_DMEM_CLOSED');
  });

  it('closing the owner releases a thread blocked on a fault and a lane blocked on events', async () => {
    const r = UffdRegion.create({ size: 8 * PAGE });
    const toucher = new Toucher(r, [[{ op: 'read', page: 1 }]]);
    toucher.release(0);
    // Wait (bounded) until the worker is blocked on its fault.
    const events = eventBuffer(4);
    let n = 0;
    for (let i = 0; i < 500 && n === 0; i++) n = r.readEvents(events, 20);
    expect(n).toBe(1);
    const lane = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const { UffdRegion, eventBuffer } = require(workerData.dist);
       const r = UffdRegion.attach(workerData.handle);
       parentPort.postMessage('ready');
       parentPort.postMessage(r.readEvents(eventBuffer(4), -1));`,
      { eval: true, workerData: { dist: DIST, handle: r.handle } },
    );
    const messages: unknown[] = [];
    const laneDone = new Promise<void>((resolve) => {
      lane.on('message', (m) => {
        messages.push(m);
        if (messages.length === 2) resolve();
      });
    });
    await new Promise<void>((resolve) => lane.once('message', () => resolve()));
    r.close();
    await laneDone;
    expect(messages[1]).toBe(EVENTS_CLOSED);
    expect(await toucher.exited).toBe(0);
    expect(toucher.result(0, 0)).toBe(0); // served by shmem once unregistered
    await lane.terminate();
  });

  it('an attached handle works in a worker and its close() leaves the owner intact', async () => {
    const r = UffdRegion.create({ size: 8 * PAGE });
    r.copy(0, pageOf(42));
    const w = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const { UffdRegion } = require(workerData.dist);
       const a = UffdRegion.attach(workerData.handle);
       const seen = new Uint32Array(a.view())[0];
       a.close(); a.close();
       parentPort.postMessage({ seen, owner: a.isOwner, closed: a.closed });`,
      { eval: true, workerData: { dist: DIST, handle: r.handle } },
    );
    const reply = await new Promise((resolve) => w.once('message', resolve));
    expect(reply).toEqual({ seen: 42, owner: false, closed: true });
    expect(r.closed).toBe(false);
    expect(new Uint32Array(r.view())[0]).toBe(42);
    r.close();
  });

  it('rejects bad ranges and buffers with errors that say what is wrong', () => {
    const r = UffdRegion.create({ size: 8 * PAGE });
    try {
      expect(() => r.copy(100, pageOf(1))).toThrow(/multiples of 4096/);
      expect(() => r.copy(8 * PAGE, pageOf(1))).toThrow(/outside the region/);
      expect(() => r.copy(7 * PAGE, pageOf(1, 2))).toThrow(/outside the region/);
      expect(() => r.copy(0, pageOf(1), 0, 2 * PAGE)).toThrow(/too small/);
      expect(() => r.copy(0, 'nope' as unknown as Uint8Array, 0, PAGE)).toThrow(/ArrayBuffer or typed array/);
      expect(() => r.dontneed(-4096, PAGE)).toThrow(/non-negative integer/);
      expect(() => r.readEvents(new Float64Array(2), 0)).toThrow(/holds no event/);
      expect(() => r.readEvents(new Uint32Array(8) as unknown as Float64Array, 0)).toThrow(/Float64Array/);
      const hole = closedError(() => r.continue(0, PAGE));
      expect(hole).toMatchObject({ code: 'EFAULT', syscall: 'ioctl', errno: -14 });
      expect(hole.message).toMatch(/not in the page cache/);
      expect(() => UffdRegion.create({ size: '12 parsecs' })).toThrow(/size: expected a size such as/);
      expect(() => UffdRegion.create({ size: 4096, writeProtect: 'maybe' as 'off' })).toThrow(/writeProtect/);
      // The region still works after every rejected call.
      expect(r.copy(0, pageOf(9))).toBe(1);
      expect(new Uint32Array(r.view())[0]).toBe(9);
    } finally {
      r.close();
    }
  });

  it('pread and pwrite reach the page cache without faulting', () => {
    const r = UffdRegion.create({ size: 8 * PAGE });
    try {
      expect(r.pwrite(2 * PAGE, pageOf(0x1234))).toBe(PAGE);
      const back = new Uint32Array(PAGE / 4);
      expect(r.pread(2 * PAGE, back)).toBe(PAGE);
      expect(back[10]).toBe(0x1234);
      expect(r.allocatedBytes()).toBe(PAGE);
      // A hole reads as zeros and allocates nothing.
      expect(r.pread(4 * PAGE, back)).toBe(PAGE);
      expect(back[10]).toBe(0);
      expect(r.allocatedBytes()).toBe(PAGE);
      expect(r.continue(2 * PAGE, PAGE)).toBe(1);
      expect(new Uint32Array(r.view(2 * PAGE, PAGE))[0]).toBe(0x1234);
    } finally {
      r.close();
    }
  });
});
