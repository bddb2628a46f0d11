/**
 * Test tools for the control protocol: a raw TCP peer that sends whatever
 * bytes a test wants and records what comes back, and a bounded polling wait.
 * Not a test file itself (no .test.ts), shared by control and fuzz tests.
 */
import * as net from 'node:net';
import { encodeFrame, FrameDecoder } from '../../dist/node/frames.js';
import { SERVER_MESSAGE_TYPES } from '../../dist/node/messages.js';

export type Received = { type: string; [key: string]: unknown };

/** Polls `condition` every `intervalMs`, at most `attempts` times; never measures elapsed time. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  attempts = 250,
  intervalMs = 20,
): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  if (!condition()) throw new Error(`gave up waiting (${attempts} polls) for ${what}`);
}

/** A frame with any body, including ones encodeFrame refuses to make. */
export function rawFrame(body: Uint8Array | string, announcedLength?: number): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(announcedLength ?? bytes.length, 0);
  return Buffer.concat([header, bytes]);
}

export class RawPeer {
  readonly socket: net.Socket;
  readonly frames: Received[] = [];
  /** The decoder's complaint about the server's bytes, if any (there should be none). */
  badServerBytes: string | undefined;
  closed = false;
  readonly #decoder = new FrameDecoder(SERVER_MESSAGE_TYPES);
  /** Called on every arrival or close, so waits need no polling. */
  readonly #onChange = new Set<() => void>();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      const { frames, error } = this.#decoder.push(chunk);
      this.frames.push(...(frames as Received[]));
      if (error !== undefined) this.badServerBytes ??= error.message;
      this.#changed();
    });
    // Resets are expected: the server may close on us mid-write.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.#changed();
    });
  }

  #changed(): void {
    for (const listener of [...this.#onChange]) listener();
  }

  /** Resolves when `condition` holds, checked on each arrival; fails after `limitMs` instead of hanging. */
  until(condition: () => boolean, what: string, limitMs = 5000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.#onChange.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#onChange.delete(check);
        reject(new Error(`gave up after ${limitMs} ms waiting for ${what}; received ${JSON.stringify(this.frames)}`));
      }, limitMs);
      this.#onChange.add(check);
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawPeer(socket));
      });
    });
  }

  send(message: { type: string; [key: string]: unknown }): void {
    this.sendBytes(encodeFrame(message));
  }

  sendBytes(bytes: Uint8Array): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /** Sends `bytes` split at `cuts`, yielding to the event loop between pieces. */
  async sendInPieces(bytes: Uint8Array, cuts: number[]): Promise<void> {
    const points = [...new Set(cuts.map((c) => Math.min(Math.max(c, 0), bytes.length)))].sort((a, b) => a - b);
    let start = 0;
    for (const point of [...points, bytes.length]) {
      if (point > start) {
        this.sendBytes(bytes.subarray(start, point));
        await new Promise((resolve) => setImmediate(resolve));
      }
      start = point;
    }
  }

  async waitForFrame(predicate: (frame: Received) => boolean, what: string): Promise<Received> {
    await this.until(() => this.frames.some(predicate), what);
    return this.frames.find(predicate) as Received;
  }

  waitClosed(what = 'the server to close the connection'): Promise<void> {
    return this.until(() => this.closed, what);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
