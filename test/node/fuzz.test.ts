/**
 * Fuzzing the control server over real sockets: random bytes, and frames that
 * are malformed in each way PROTOCOL.md names, cut into random chunks. The
 * server must answer each malformed frame with ERR_DMEM_PROTOCOL and close
 * that connection, never crash, never leak a connection, and keep serving:
 * after every run a well-behaved client connects, leases and releases, and a
 * witness client connected throughout still works at the end.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlServer, MemoryNodeClient } from '../../dist/index.js';
import { encodeFrame, MAX_FRAME_BYTES } from '../../dist/node/frames.js';
import { parseServerMessage } from '../../dist/node/messages.js';
import { RecordingBackend } from '../helpers/recording-backend';
import { rawFrame, RawPeer, waitFor } from './raw-peer';

const HELLO = encodeFrame({ type: 'hello', version: 1, client: 'fuzz' });
const CLIENT_TYPES = ['hello', 'lease', 'release', 'heartbeat', 'stats', 'bye'];
/** Codes a fuzzed connection may legitimately be answered with. */
const EXPECTED_CODES = ['ERR_DMEM_PROTOCOL', 'ERR_DMEM_VERSION', 'ERR_DMEM_POOL_EXHAUSTED', 'ERR_DMEM_UNKNOWN_SLAB'];

let backend: RecordingBackend;
let server: ControlServer;
let port: number;
let witness: MemoryNodeClient;

beforeAll(async () => {
  // Many small slabs: fuzzed sessions that lease and vanish hold slots until they expire.
  backend = new RecordingBackend({ slots: 4096, slabSize: 4096 });
  server = new ControlServer({ backend, port: 0, heartbeatMs: 100, leaseTimeoutMs: 2000, helloTimeoutMs: 2000 });
  ({ port } = await server.listen());
  witness = await MemoryNodeClient.connect({ host: '127.0.0.1', port, client: 'witness' });
});

afterAll(async () => {
  await witness?.close();
  await server?.close();
});

/** A well-behaved client still gets full service. */
async function checkStillServing(): Promise<void> {
  const client = await MemoryNodeClient.connect({ host: '127.0.0.1', port, client: 'after-fuzz', timeoutMs: 5000 });
  try {
    const lease = await client.lease();
    await client.release(lease.slabId);
  } finally {
    await client.close();
  }
}

/** Sends `bytes` in pieces; returns the peer once the server has closed the connection. */
async function sendAndWaitForClose(bytes: Buffer, cuts: number[], endOurSide: boolean): Promise<RawPeer> {
  const peer = await RawPeer.connect(port);
  try {
    await peer.sendInPieces(bytes, cuts);
    if (endOurSide) peer.socket.end();
    await peer.waitClosed();
    expect(peer.badServerBytes).toBeUndefined();
    for (const frame of peer.frames) {
      const message = parseServerMessage(frame);
      if (message.type === 'error') expect(EXPECTED_CODES).toContain(message.code);
    }
    return peer;
  } finally {
    peer.destroy();
  }
}

// ---- generators of malformed frames -------------------------------------------

const notJson = fc
  .string({ minLength: 1, maxLength: 60 })
  .filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  })
  .map((text) => rawFrame(text));

const invalidUtf8 = fc
  .tuple(fc.string({ maxLength: 20 }), fc.constantFrom(0xff, 0xfe, 0xc0, 0x80), fc.string({ maxLength: 20 }))
  .map(([a, bad, b]) => rawFrame(Buffer.concat([Buffer.from(a), Buffer.from([bad]), Buffer.from(b)])));

const oversized = fc
  .tuple(fc.integer({ min: MAX_FRAME_BYTES + 1, max: 0xffffffff }), fc.uint8Array({ maxLength: 64 }))
  .map(([length, body]) => rawFrame(body, length));

const nonObject = fc
  .oneof(fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== 'object' || v === null), fc.array(fc.jsonValue({ maxDepth: 1 })))
  .map((value) => rawFrame(JSON.stringify(value)));

const badTypeField = fc
  .oneof(
    fc.constant(undefined),
    fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 })),
    fc.string({ maxLength: 12 }).filter((type) => !CLIENT_TYPES.includes(type)),
    fc.constantFrom('welcome', 'leased', 'released', 'error', 'HELLO', ' hello'),
  )
  .map((type) => rawFrame(JSON.stringify(type === undefined ? { id: 1 } : { type, id: 1 })));

const wrongValue = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.double().filter((n) => !Number.isInteger(n)),
  fc.integer({ max: -1 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant([1]),
  fc.constant({}),
);

/** A known type with one field of the wrong type, or missing. Needs a hello first, except hello itself. */
const wrongFieldTypes = fc.oneof(
  wrongValue.map((version) => encodeFrame({ type: 'hello', version })),
  fc.constant(encodeFrame({ type: 'hello' })),
  fc
    .tuple(fc.constantFrom('token', 'client'), wrongValue.filter((v) => typeof v !== 'string'))
    .map(([field, value]) => encodeFrame({ type: 'hello', version: 1, [field]: value })),
  fc
    .tuple(fc.constantFrom('lease', 'heartbeat', 'stats', 'release'), fc.option(wrongValue))
    .map(([type, id]) => encodeFrame(id === null ? { type, slabId: 0 } : { type, id, slabId: 0 })),
  wrongValue.map((slabId) => encodeFrame({ type: 'release', id: 1, slabId })),
);

const requestBeforeHello = fc
  .constantFrom('lease', 'release', 'heartbeat', 'stats', 'bye')
  .map((type) => encodeFrame({ type, id: 1, slabId: 0 }));

/** Valid frames a session may send before the bad one. */
const validRequests = fc.array(
  fc.oneof(
    fc.constant(encodeFrame({ type: 'lease', id: 1 })),
    fc.constant(encodeFrame({ type: 'heartbeat', id: 2 })),
    fc.nat(8).map((slabId) => encodeFrame({ type: 'release', id: 3, slabId })),
    fc.constant(encodeFrame({ type: 'stats', id: 4 })),
  ),
  { maxLength: 4 },
);

/** [frames before, the malformed frame]: each must end in ERR_DMEM_PROTOCOL and a close. */
const malformedCase = fc.oneof(
  fc.tuple(fc.constant([] as Buffer[]), fc.oneof(notJson, invalidUtf8, oversized, nonObject, badTypeField)),
  fc.tuple(fc.constant([] as Buffer[]), fc.constant(rawFrame(''))),
  fc.tuple(fc.constant([] as Buffer[]), requestBeforeHello),
  fc.tuple(
    validRequests.map((requests) => [HELLO, ...requests]),
    fc.oneof(wrongFieldTypes, notJson, oversized, badTypeField, fc.constant(HELLO)),
  ),
);

describe('fuzzing the control server', () => {
  it('answers every malformed frame with ERR_DMEM_PROTOCOL, closes that connection, and keeps serving', async () => {
    const errorsBefore = server.stats().protocolErrors;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        malformedCase,
        fc.uint8Array({ maxLength: 32 }),
        fc.array(fc.nat(300), { maxLength: 8 }),
        async ([before, bad, ], trailing, cuts) => {
          runs++;
          // Bytes after the bad frame must be ignored, whatever they are.
          const bytes = Buffer.concat([...before, bad, Buffer.from(trailing)]);
          const peer = await sendAndWaitForClose(bytes, cuts, false);
          const last = peer.frames[peer.frames.length - 1];
          expect(last).toMatchObject({ type: 'error', code: 'ERR_DMEM_PROTOCOL' });
          expect(last).not.toHaveProperty('id');
          await checkStillServing();
        },
      ),
      { numRuns: 150 },
    );
    expect(server.stats().protocolErrors - errorsBefore).toBe(runs);
  });

  it('survives random bytes and truncated frames: each connection is answered or closed', async () => {
    const noise = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.uint8Array({ maxLength: 100 }).map((b) => rawFrame(b)),
      fc.string({ maxLength: 100 }).map((text) => rawFrame(text)),
      // A valid frame cut short: the server waits for the rest, then sees the end.
      fc
        .tuple(fc.constantFrom(HELLO, encodeFrame({ type: 'lease', id: 1 })), fc.nat())
        .map(([frame, n]) => frame.subarray(0, 1 + (n % (frame.length - 1)))),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(noise, { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat(600), { maxLength: 8 }),
        async (helloFirst, pieces, cuts) => {
          const bytes = Buffer.concat([...(helloFirst ? [HELLO] : []), ...pieces]);
          // We end our side: a server waiting for more bytes must then close too.
          await sendAndWaitForClose(bytes, cuts, true);
          await checkStillServing();
        },
      ),
      { numRuns: 100 },
    );
  });

  it('leaves the witness working, no connection leaked, the backend contract kept', async () => {
    await witness.heartbeat();
    const lease = await witness.lease();
    await witness.release(lease.slabId);
    expect(witness.lost).toBe(false);
    await waitFor(() => server.stats().connections === 1, 'every fuzzed connection to be gone');
    expect(backend.violations).toEqual([]);
  });
});
