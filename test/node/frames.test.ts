/**
 * The frame codec and the message validators, without sockets: round trips,
 * every way of cutting a byte stream into chunks, and each kind of bad frame
 * or bad field reported as ERR_DMEM_PROTOCOL with the problem named.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES, type Frame } from '../../dist/node/frames.js';
import {
  CLIENT_MESSAGE_TYPES,
  parseClientMessage,
  parseServerMessage,
  SERVER_MESSAGE_TYPES,
} from '../../dist/node/messages.js';
import { rawFrame } from './raw-peer';

const TYPES = ['hello', 'lease', 'release', 'heartbeat', 'stats', 'connect-qp', 'disconnect-qp', 'bye'];

/** A JSON object with a known type and arbitrary other fields. */
const messageArb = fc
  .tuple(
    fc.constantFrom(...TYPES),
    fc.dictionary(
      fc.string({ maxLength: 12 }).filter((key) => key !== 'type'),
      fc.jsonValue({ maxDepth: 3 }),
      { maxKeys: 6 },
    ),
  )
  .map(([type, fields]) => ({ ...fields, type }));

/** What a message looks like after JSON (-0 becomes 0, and so on). */
const viaJson = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

/** Splits `bytes` at the given points (sorted, deduplicated, clamped). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** Feeds chunks until the first error; returns every frame and that error. */
function decodeAll(chunks: Buffer[], types: Iterable<string> = TYPES) {
  const decoder = new FrameDecoder(types);
  const frames: Frame[] = [];
  let error: (Error & { code?: string }) | undefined;
  for (const chunk of chunks) {
    const result = decoder.push(chunk);
    frames.push(...result.frames);
    error ??= result.error;
  }
  return { frames, error, decoder };
}

describe('frame codec', () => {
  it('encodes a 4-byte big-endian length then UTF-8 JSON', () => {
    const frame = encodeFrame({ type: 'hello', client: 'é' });
    const json = '{"type":"hello","client":"é"}';
    expect(frame.readUInt32BE(0)).toBe(Buffer.byteLength(json));
    expect(frame.subarray(4).toString('utf8')).toBe(json);
  });

  it('round-trips random messages', () => {
    fc.assert(
      fc.property(messageArb, (message) => {
        const { frames, error } = decodeAll([encodeFrame(message)]);
        expect(error).toBeUndefined();
        expect(frames).toEqual([viaJson(message)]);
      }),
    );
  });

  it('decodes the same frames however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(4000), { maxLength: 40 }),
        (messages, cuts) => {
          const stream = Buffer.concat(messages.map((m) => encodeFrame(m)));
          const { frames, error, decoder } = decodeAll(split(stream, cuts));
          expect(error).toBeUndefined();
          expect(frames).toEqual(messages.map(viaJson));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('takes a maximum-size frame one byte at a time', () => {
    const message = { type: 'stats', pad: '' };
    message.pad = 'x'.repeat(MAX_FRAME_BYTES - JSON.stringify(message).length);
    const frame = encodeFrame(message);
    expect(frame.length).toBe(4 + MAX_FRAME_BYTES);
    const decoder = new FrameDecoder(TYPES);
    const frames: Frame[] = [];
    const errors: unknown[] = [];
    for (let i = 0; i < frame.length; i++) {
      const result = decoder.push(frame.subarray(i, i + 1));
      if (result.error !== undefined) errors.push(result.error);
      frames.push(...result.frames);
      if (i === 2 || i === 1000) expect(decoder.bufferedBytes).toBe(i + 1);
    }
    expect(errors).toEqual([]);
    expect(frames).toEqual([message]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('refuses to encode a frame over MAX_FRAME_BYTES', () => {
    const message = { type: 'stats', pad: 'x'.repeat(MAX_FRAME_BYTES) };
    expect(() => encodeFrame(message)).toThrow(/exceeds MAX_FRAME_BYTES \(65536\)/);
  });
});

describe('malformed frames', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['zero length', rawFrame(''), /length 0/],
    ['oversized (reported from the header alone)', rawFrame('', MAX_FRAME_BYTES + 1), /announces 65537 bytes/],
    ['a 4 GiB length', rawFrame('', 0xffffffff), /announces 4294967295 bytes/],
    ['invalid UTF-8', rawFrame(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), /not valid UTF-8/],
    ['not JSON', rawFrame('{"type": "hello",'), /not JSON/],
    ['a JSON array', rawFrame('[{"type":"hello"}]'), /holds an array/],
    ['a JSON number', rawFrame('42'), /holds a number/],
    ['a JSON string', rawFrame('"hello"'), /holds a string/],
    ['JSON null', rawFrame('null'), /holds null/],
    ['no type', rawFrame('{"version":1}'), /no "type" field/],
    ['a numeric type', rawFrame('{"type":7}'), /"type" is 7, not a string/],
    ['an unknown type', rawFrame('{"type":"welcome"}'), /unknown frame type "welcome"/],
  ];

  it.each(cases)('%s is a protocol error', (_name, bytes, message) => {
    const { frames, error, decoder } = decodeAll([bytes]);
    expect(frames).toEqual([]);
    expect(error?.code).toBe('ERR_DMEM_PROTOCOL');
    expect(error?.message).toMatch(message);
    expect(decoder.failed).toBe(true);
    // A failed decoder is done: later input, even valid, yields nothing.
    expect(decoder.push(encodeFrame({ type: 'bye' }))).toEqual({ frames: [] });
  });

  it('delivers the good frames before a bad one, however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { maxLength: 5 }),
        fc.constantFrom(...cases.map(([, bytes]) => bytes)),
        fc.array(messageArb, { maxLength: 3 }),
        fc.array(fc.nat(2000), { maxLength: 20 }),
        (before, bad, after, cuts) => {
          const stream = Buffer.concat([...before.map((m) => encodeFrame(m)), bad, ...after.map((m) => encodeFrame(m))]);
          const { frames, error } = decodeAll(split(stream, cuts));
          expect(frames).toEqual(before.map(viaJson));
          expect(error?.code).toBe('ERR_DMEM_PROTOCOL');
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('message validation', () => {
  it('accepts every client message and drops fields the protocol does not define', () => {
    expect(parseClientMessage({ type: 'hello', version: 1, token: 't', client: 'c', extra: 1 })).toEqual({
      type: 'hello',
      version: 1,
      token: 't',
      client: 'c',
    });
    expect(parseClientMessage({ type: 'hello', version: 1 })).toEqual({ type: 'hello', version: 1 });
    expect(parseClientMessage({ type: 'lease', id: 3 })).toEqual({ type: 'lease', id: 3 });
    expect(parseClientMessage({ type: 'release', id: 4, slabId: 0 })).toEqual({ type: 'release', id: 4, slabId: 0 });
    expect(parseClientMessage({ type: 'heartbeat', id: 0 })).toEqual({ type: 'heartbeat', id: 0 });
    expect(parseClientMessage({ type: 'stats', id: 9 })).toEqual({ type: 'stats', id: 9 });
    expect(parseClientMessage({ type: 'bye' })).toEqual({ type: 'bye' });
  });

  it.each([
    [{ type: 'hello' }, /hello\.version: expected an integer.*got nothing/],
    [{ type: 'hello', version: '1' }, /hello\.version: expected an integer.*got "1"/],
    [{ type: 'hello', version: 1.5 }, /hello\.version/],
    [{ type: 'hello', version: 1, token: 5 }, /hello\.token: expected a string, got 5/],
    [{ type: 'hello', version: 1, client: null }, /hello\.client: expected a string, got null/],
    [{ type: 'lease' }, /lease\.id: expected an integer/],
    [{ type: 'lease', id: -1 }, /lease\.id: expected an integer in \[0, /],
    [{ type: 'lease', id: 'x' }, /lease\.id/],
    [{ type: 'release', id: 1 }, /release\.slabId: expected an integer/],
    [{ type: 'release', id: 1, slabId: [0] }, /release\.slabId.*got \[0\]/],
    [{ type: 'heartbeat', id: 1e300 }, /heartbeat\.id/],
    [{ type: 'stats', id: true }, /stats\.id/],
    [{ type: 'leased', id: 1 }, /unknown message type "leased"/],
    [{ type: 5 }, /"type" is 5/],
    [[], /must be a JSON object/],
  ])('refuses client message %j naming the problem', (message, pattern) => {
    expect(() => parseClientMessage(message)).toThrow(pattern);
    try {
      parseClientMessage(message);
    } catch (error) {
      expect((error as { code: string }).code).toBe('ERR_DMEM_PROTOCOL');
    }
  });

  const welcome = {
    type: 'welcome',
    version: 1,
    nodeId: 'n',
    sessionId: 1,
    secret: '0123456789abcdef',
    transport: 'shm',
    data: { kind: 'unix', path: '\0dmem-1' },
    slabSize: 4096,
    addressBase: 2 ** 44,
    poolBytes: 4096 * 4,
    heartbeatMs: 1000,
    leaseTimeoutMs: 10000,
  };

  it('accepts every server message', () => {
    expect(parseServerMessage(welcome)).toEqual(welcome);
    const verbs = { ...welcome, transport: 'verbs', data: { kind: 'verbs', device: 'rxe0', port: 1, gidIndex: 1 } };
    expect(parseServerMessage(verbs)).toEqual(verbs);
    expect(parseServerMessage({ type: 'error', code: 'E', message: 'm' })).toEqual({ type: 'error', code: 'E', message: 'm' });
    expect(parseServerMessage({ type: 'error', id: 2, code: 'E', message: 'm' })).toMatchObject({ id: 2 });
    const leased = { type: 'leased', id: 1, slabId: 2, address: 2 ** 44, length: 4096, key: 0xffffffff };
    expect(parseServerMessage(leased)).toEqual(leased);
    expect(parseServerMessage({ type: 'released', id: 1, slabId: 2 })).toEqual({ type: 'released', id: 1, slabId: 2 });
    expect(parseServerMessage({ type: 'heartbeat', id: 1 })).toEqual({ type: 'heartbeat', id: 1 });
    expect(parseServerMessage({ type: 'stats', id: 1, stats: { a: 1 } })).toEqual({ type: 'stats', id: 1, stats: { a: 1 } });
  });

  it.each([
    [{ ...welcome, secret: 'ABC' }, /welcome\.secret: expected 16 lowercase hex digits/],
    [{ ...welcome, transport: 'carrier-pigeon' }, /welcome\.transport: expected one of tcp, shm, file, verbs/],
    [{ ...welcome, data: { kind: 'tcp', host: 'h' } }, /welcome\.data\.port/],
    [{ ...welcome, data: 'tcp://h:1' }, /welcome\.data: expected a JSON object/],
    [{ ...welcome, slabSize: 0 }, /welcome\.slabSize/],
    [{ type: 'leased', id: 1, slabId: 0, address: 0, length: 1, key: 2 ** 32 }, /leased\.key/],
    [{ type: 'error', code: 'E' }, /error\.message: expected a string/],
    [{ type: 'stats', id: 1, stats: null }, /stats\.stats: expected a JSON object/],
    [{ type: 'bye' }, /unknown message type "bye"/],
  ])('refuses server message %j naming the problem', (message, pattern) => {
    expect(() => parseServerMessage(message)).toThrow(pattern);
  });

  it('lists each direction of message types', () => {
    expect([...CLIENT_MESSAGE_TYPES].sort()).toEqual([...TYPES].sort());
    expect(SERVER_MESSAGE_TYPES).toContain('welcome');
  });
});
