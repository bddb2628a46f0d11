/**
 * Frames of the control protocol (docs/PROTOCOL.md): a 4-byte big-endian
 * length N, then N bytes of UTF-8 JSON holding one object with a string
 * `type`; 1 <= N <= MAX_FRAME_BYTES.
 *
 * The decoder is fed socket chunks as they come, split anywhere. It never
 * buffers more than one frame: the length is checked as soon as its 4 bytes
 * are in, so a peer announcing 4 GiB costs nothing, and a frame split over
 * many chunks is copied once into a buffer of its exact size.
 */
import { DmemError, ErrorCodes } from '../errors';

export const MAX_FRAME_BYTES = 65536;
export const FRAME_HEADER_BYTES = 4;

/** A decoded frame: a JSON object with a string `type`, fields not yet checked. */
export type Frame = { readonly type: string } & Readonly<Record<string, unknown>>;

export interface DecodeResult {
  /** Frames completed by this chunk, in order, up to the first bad one. */
  frames: Frame[];
  /** The first protocol error; set once, after which the decoder ignores input. */
  error?: DmemError;
}

export function protocolError(message: string): DmemError {
  return new DmemError(message, ErrorCodes.protocol);
}

/** Encodes one message; throws ERR_DMEM_PROTOCOL if it would exceed MAX_FRAME_BYTES. */
export function encodeFrame<Message extends { readonly type: string }>(message: Message): Buffer {
  const json = JSON.stringify(message);
  const length = Buffer.byteLength(json, 'utf8');
  if (length > MAX_FRAME_BYTES) {
    throw protocolError(
      `a ${message.type} frame of ${length} bytes exceeds MAX_FRAME_BYTES (${MAX_FRAME_BYTES}): send less per message`,
    );
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame.writeUInt32BE(length, 0);
  frame.write(json, FRAME_HEADER_BYTES, 'utf8');
  return frame;
}

// fatal: malformed UTF-8 is a protocol error, not U+FFFD smuggled into JSON.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses one frame body; throws ERR_DMEM_PROTOCOL saying what is wrong with it. */
export function parseFrameBody(body: Uint8Array, knownTypes: ReadonlySet<string>): Frame {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw protocolError(`a frame of ${body.length} bytes is not valid UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw protocolError(`a frame of ${body.length} bytes is not JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw protocolError(`a frame holds ${kind}; each frame must hold one JSON object`);
  }
  const type = (value as Record<string, unknown>).type;
  if (typeof type !== 'string') {
    throw protocolError(
      type === undefined ? 'a frame has no "type" field' : `a frame's "type" is ${describeValue(type)}, not a string`,
    );
  }
  if (!knownTypes.has(type)) {
    throw protocolError(`unknown frame type ${describeValue(type)}; expected one of ${[...knownTypes].join(', ')}`);
  }
  return value as Frame;
}

/** A short rendering of a bad value for an error message. */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** "host:port", with IPv6 hosts in brackets, for messages and logs. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export class FrameDecoder {
  readonly #knownTypes: ReadonlySet<string>;
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES);
  #headerFilled = 0;
  /** The body of a frame that spans chunks; undefined between frames. */
  #body: Buffer | undefined;
  #bodyFilled = 0;
  #error: DmemError | undefined;

  /** `knownTypes`: the frame types this side accepts (the peer's message types). */
  constructor(knownTypes: Iterable<string>) {
    this.#knownTypes = new Set(knownTypes);
  }

  /** True once a protocol error was reported; the connection should close. */
  get failed(): boolean {
    return this.#error !== undefined;
  }

  /** Bytes held of a frame not yet complete (0 between frames). */
  get bufferedBytes(): number {
    return this.#body === undefined ? this.#headerFilled : FRAME_HEADER_BYTES + this.#bodyFilled;
  }

  push(chunk: Uint8Array): DecodeResult {
    const frames: Frame[] = [];
    if (this.#error !== undefined) return { frames };
    let offset = 0;
    try {
      while (offset < chunk.length) {
        if (this.#body === undefined) {
          const take = Math.min(FRAME_HEADER_BYTES - this.#headerFilled, chunk.length - offset);
          this.#header.set(chunk.subarray(offset, offset + take), this.#headerFilled);
          this.#headerFilled += take;
          offset += take;
          if (this.#headerFilled < FRAME_HEADER_BYTES) break;
          this.#headerFilled = 0;
          const length = this.#header.readUInt32BE(0);
          checkLength(length);
          if (chunk.length - offset >= length) {
            // The whole body is in this chunk: parse it in place, no copy.
            frames.push(parseFrameBody(chunk.subarray(offset, offset + length), this.#knownTypes));
            offset += length;
            continue;
          }
          this.#body = Buffer.allocUnsafe(length);
          this.#bodyFilled = 0;
        }
        const body = this.#body;
        const take = Math.min(body.length - this.#bodyFilled, chunk.length - offset);
        body.set(chunk.subarray(offset, offset + take), this.#bodyFilled);
        this.#bodyFilled += take;
        offset += take;
        if (this.#bodyFilled < body.length) break;
        this.#body = undefined;
        frames.push(parseFrameBody(body, this.#knownTypes));
      }
    } catch (error) {
      this.#error = error instanceof DmemError ? error : protocolError(String(error));
      this.#body = undefined;
      return { frames, error: this.#error };
    }
    return { frames };
  }
}

function checkLength(length: number): void {
  if (length === 0) throw protocolError('a frame has length 0; each frame holds one JSON object of 1 or more bytes');
  if (length > MAX_FRAME_BYTES) {
    throw protocolError(`a frame announces ${length} bytes, more than MAX_FRAME_BYTES (${MAX_FRAME_BYTES})`);
  }
}
