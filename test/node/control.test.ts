/**
 * The control protocol end to end: a real ControlServer on 127.0.0.1, real
 * MemoryNodeClients and raw sockets, and misbehaving peers on both sides (a
 * client killed with leases held, a client that goes silent, a memory node
 * that stalls, dies or answers garbage). Waits are bounded polling loops;
 * nothing asserts on elapsed time.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ControlServer,
  MemoryNodeClient,
  type ControlServerOptions,
  type MemoryNodeClientOptions,
} from '../../dist/index.js';
import { encodeFrame, FrameDecoder } from '../../dist/node/frames.js';
import { CLIENT_MESSAGE_TYPES } from '../../dist/node/messages.js';
import { NativeSlabBackend } from '../../dist/node/native-backend.js';
import { RecordingBackend } from '../helpers/recording-backend';
import { rawFrame, RawPeer, waitFor } from './raw-peer';

const SLAB = 65536;
const AUTH_MESSAGE = "wrong or missing token: pass --token or set DMEM_TOKEN to the memory node's token";

/** The one place that picks the backend: swap in `new RecordingBackend({ inner })` to run against another. */
// The real native backend (memfd slabs, tcp data listener), recorded.
function makeBackend(slots: number): RecordingBackend {
  const inner = new NativeSlabBackend({ transport: 'tcp', poolBytes: slots * SLAB, slabSize: SLAB, host: '127.0.0.1' });
  cleanups.push(() => inner.close());
  return new RecordingBackend({ inner });
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type ServerSetup = Omit<ControlServerOptions, 'backend'> & { slots?: number };

async function startServer(setup: ServerSetup = {}) {
  const { slots = 4, ...options } = setup;
  const backend = makeBackend(slots);
  const logs: string[] = [];
  const server = new ControlServer({ backend, host: '127.0.0.1', port: 0, log: (line) => logs.push(line), ...options });
  cleanups.push(() => server.close());
  const { port } = await server.listen();
  return { server, backend, port, logs };
}

async function connect(port: number, options: Partial<MemoryNodeClientOptions> = {}): Promise<MemoryNodeClient> {
  const client = await MemoryNodeClient.connect({ host: '127.0.0.1', port, client: 'test', ...options });
  cleanups.push(() => client.close());
  return client;
}

async function rawPeer(port: number): Promise<RawPeer> {
  const peer = await RawPeer.connect(port);
  cleanups.push(() => peer.destroy());
  return peer;
}

/** A raw peer that has said hello and got its welcome. */
async function helloPeer(port: number): Promise<{ peer: RawPeer; sessionId: number }> {
  const peer = await rawPeer(port);
  peer.send({ type: 'hello', version: 1, client: 'raw' });
  const welcome = await peer.waitForFrame((f) => f.type === 'welcome', 'welcome');
  return { peer, sessionId: welcome.sessionId as number };
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection, got a result');
}

/**
 * A fake memory node: answers hello with a valid welcome, then hands every
 * later frame to `onFrame` (default: ignore it, i.e. stall).
 */
async function startFakeNode(onFrame: (frame: { type: string }, socket: net.Socket) => void = () => {}) {
  const sockets = new Set<net.Socket>();
  const received: { type: string }[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    const decoder = new FrameDecoder(CLIENT_MESSAGE_TYPES);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk).frames) {
        received.push(frame);
        if (frame.type !== 'hello') onFrame(frame, socket);
        else {
          socket.write(
            encodeFrame({
              type: 'welcome',
              version: 1,
              nodeId: 'fake',
              sessionId: 1,
              secret: '0123456789abcdef',
              transport: 'tcp',
              data: { kind: 'tcp', host: '127.0.0.1', port: 1 },
              slabSize: SLAB,
              addressBase: 0,
              poolBytes: SLAB,
              heartbeatMs: 60_000,
              leaseTimeoutMs: 120_000,
            }),
          );
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const killAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  cleanups.push(() => {
    killAll();
    return new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, received, killAll };
}

describe('session', () => {
  it('welcome carries every field of PROTOCOL.md, from the backend and the options', async () => {
    const { backend, port } = await startServer({ heartbeatMs: 250, leaseTimeoutMs: 5000, nodeId: 'node-a' });
    const a = await connect(port);
    const b = await connect(port);
    expect(a.welcome).toEqual({
      type: 'welcome',
      version: 1,
      nodeId: 'node-a',
      sessionId: a.welcome.sessionId,
      secret: a.welcome.secret,
      transport: backend.transport,
      data: backend.dataEndpoint(),
      slabSize: backend.slabSize,
      addressBase: backend.addressBase,
      poolBytes: backend.slots * backend.slabSize,
      heartbeatMs: 250,
      leaseTimeoutMs: 5000,
    });
    expect(a.welcome.secret).toMatch(/^[0-9a-f]{16}$/);
    expect(Number.isInteger(a.welcome.sessionId)).toBe(true);
    expect(b.welcome.sessionId).not.toBe(a.welcome.sessionId);
    expect(b.welcome.secret).not.toBe(a.welcome.secret);
    // The backend learned each session's secret, so data connections can join it.
    expect(backend.openedSessions).toEqual([
      { sessionId: a.welcome.sessionId, secret: a.welcome.secret },
      { sessionId: b.welcome.sessionId, secret: b.welcome.secret },
    ]);
    expect(a.lost).toBe(false);
  });

  it('logs one line per connect, lease, release and bye', async () => {
    const { port, logs } = await startServer();
    const client = await connect(port, { client: 'x' });
    const lease = await client.lease();
    await client.release(lease.slabId);
    await client.close();
    const id = client.welcome.sessionId;
    expect(logs).toHaveLength(4);
    expect(logs[0]).toMatch(new RegExp(`^client 127\\.0\\.0\\.1:\\d+ session ${id} connected \\(client "x"\\)$`));
    expect(logs[1]).toBe(`session ${id} leased slab 0 (64 KiB at 0x${lease.address.toString(16)})`);
    expect(logs[2]).toBe(`session ${id} released slab 0`);
    expect(logs[3]).toBe(`session ${id} disconnected (bye), 0 slabs released`);
  });

  it('bye releases every lease at once; close() is safe twice; later requests fail ERR_DMEM_CLOSED', async () => {
    const { backend, port, server } = await startServer();
    const client = await connect(port);
    await client.lease();
    await client.lease();
    await client.close();
    await client.close();
    expect(backend.grantedSlots()).toEqual([]);
    expect(backend.revokes.sort()).toEqual([0, 1]);
    expect(backend.closedSessions).toEqual([client.welcome.sessionId]);
    expect(server.stats().sessions).toBe(0);
    expect(client.lost).toBe(false);
    const error = await rejection(client.lease());
    expect(error.code).toBe('ERR_DMEM_CLOSED');
    expect(error.message).toMatch(/connect again/);
    expect(backend.violations).toEqual([]);
  });
});

describe('leases', () => {
  it('lease gives the lowest free slot with its address range and key; release frees it', async () => {
    const { backend, port } = await startServer();
    const client = await connect(port);
    const first = await client.lease();
    const second = await client.lease();
    expect(first).toEqual({ slabId: 0, address: backend.addressBase, length: SLAB, key: first.key });
    expect(second.slabId).toBe(1);
    expect(second.address).toBe(backend.addressBase + SLAB);
    for (const lease of [first, second]) {
      expect(Number.isInteger(lease.key) && lease.key >= 0 && lease.key < 2 ** 32).toBe(true);
    }
    expect(backend.grants.map((g) => [g.slot, g.sessionId])).toEqual([
      [0, client.welcome.sessionId],
      [1, client.welcome.sessionId],
    ]);
    await client.release(0);
    expect(backend.revokes).toEqual([0]);
    expect((await client.lease()).slabId).toBe(0);
    expect(backend.violations).toEqual([]);
  });

  it('an exhausted pool refuses with ERR_DMEM_POOL_EXHAUSTED and the connection stays usable', async () => {
    const { port } = await startServer({ slots: 2 });
    const client = await connect(port);
    await client.lease();
    await client.lease();
    const error = await rejection(client.lease());
    expect(error.code).toBe('ERR_DMEM_POOL_EXHAUSTED');
    expect(error.message).toMatch(/all 2 slabs \(128 KiB\) are leased/);
    await client.heartbeat();
    await client.release(1);
    expect((await client.lease()).slabId).toBe(1);
  });

  it("releasing another session's slab, an unknown slab or a slab twice is refused; the connection stays usable", async () => {
    const { backend, port } = await startServer();
    const owner = await connect(port);
    const other = await connect(port);
    const lease = await owner.lease();
    const stolen = await rejection(other.release(lease.slabId));
    expect(stolen.code).toBe('ERR_DMEM_UNKNOWN_SLAB');
    expect(stolen.message).toMatch(new RegExp(`slab ${lease.slabId} is not leased by session ${other.welcome.sessionId}`));
    expect(backend.ownerOf(lease.slabId)).toBe(owner.welcome.sessionId);
    expect((await rejection(other.release(999))).code).toBe('ERR_DMEM_UNKNOWN_SLAB');
    expect((await other.lease()).slabId).toBe(1);
    await owner.release(lease.slabId);
    expect((await rejection(owner.release(lease.slabId))).code).toBe('ERR_DMEM_UNKNOWN_SLAB');
    expect(other.lost || owner.lost).toBe(false);
    expect(backend.violations).toEqual([]);
  });

  it('release() checks its argument before sending', async () => {
    const { port } = await startServer();
    const client = await connect(port);
    expect((await rejection(client.release(-1))).code).toBe('ERR_DMEM_INVALID_OPTION');
    expect((await rejection(client.release(1.5))).code).toBe('ERR_DMEM_INVALID_OPTION');
  });
});

describe('refusals', () => {
  it('a wrong or missing token is refused with ERR_DMEM_AUTH and the server message; the right one works', async () => {
    const { backend, port, logs } = await startServer({ token: 's3cret' });
    for (const token of [undefined, 'nope', 's3cret-and-more', '']) {
      const error = await rejection(connect(port, token === undefined ? {} : { token }));
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe('ERR_DMEM_AUTH');
      expect(error.message).toBe(AUTH_MESSAGE);
    }
    expect(backend.openedSessions).toEqual([]);
    expect(logs.filter((line) => line.includes('refused'))).toHaveLength(4);
    const client = await connect(port, { token: 's3cret' });
    expect((await client.lease()).slabId).toBe(0);
  });

  it('a hello of another protocol version is refused with ERR_DMEM_VERSION and the connection closed', async () => {
    const { backend, port } = await startServer();
    const peer = await rawPeer(port);
    peer.send({ type: 'hello', version: 2 });
    const error = await peer.waitForFrame((f) => f.type === 'error', 'an error frame');
    expect(error.code).toBe('ERR_DMEM_VERSION');
    expect(error.message).toMatch(/version 1.*version 2/);
    await peer.waitClosed();
    expect(backend.openedSessions).toEqual([]);
  });

  it('a request before hello is a protocol error naming it', async () => {
    const { port, server } = await startServer();
    const peer = await rawPeer(port);
    peer.send({ type: 'lease', id: 1 });
    const error = await peer.waitForFrame((f) => f.type === 'error', 'an error frame');
    expect(error).toMatchObject({ code: 'ERR_DMEM_PROTOCOL' });
    expect(error.message).toMatch(/lease before hello/);
    await peer.waitClosed();
    expect(server.stats().protocolErrors).toBe(1);
  });

  it('a connection that sends no hello within helloTimeoutMs is told so and closed', async () => {
    const { port } = await startServer({ helloTimeoutMs: 100 });
    const peer = await rawPeer(port);
    const error = await peer.waitForFrame((f) => f.type === 'error', 'an error frame');
    expect(error.code).toBe('ERR_DMEM_PROTOCOL');
    expect(error.message).toMatch(/no hello within 100 ms/);
    await peer.waitClosed();
  });

  it("a protocol error closes only that connection and revokes its session's slabs at once", async () => {
    const { backend, port, server } = await startServer();
    const good = await connect(port);
    const goodLease = await good.lease();
    const { peer, sessionId } = await helloPeer(port);
    peer.send({ type: 'lease', id: 1 });
    await peer.waitForFrame((f) => f.type === 'leased', 'leased');
    peer.sendBytes(rawFrame('{"type": "lease", "id": "seven"}'));
    const error = await peer.waitForFrame((f) => f.type === 'error', 'an error frame');
    expect(error.code).toBe('ERR_DMEM_PROTOCOL');
    expect(error.message).toMatch(/lease\.id: expected an integer/);
    await peer.waitClosed();
    // Default leaseTimeoutMs is 10 s: the revoke within the polling bound is the immediate one.
    await waitFor(() => backend.closedSessions.includes(sessionId), 'the session to be closed');
    expect(backend.grantedSlots()).toEqual([goodLease.slabId]);
    await good.heartbeat();
    await good.release(goodLease.slabId);
    expect(good.lost).toBe(false);
    expect(server.stats().expiredSessions).toBe(0);
    expect(backend.violations).toEqual([]);
  });

  it('connecting where nothing listens names host:port and `dmem serve`', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const error = await rejection(MemoryNodeClient.connect({ host: '127.0.0.1', port }));
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('dmem serve');
  });

  it('bad options are refused with the option named', async () => {
    const backend = makeBackend(1);
    expect(() => new ControlServer({ backend, heartbeatMs: 500, leaseTimeoutMs: 200 })).toThrow(/^leaseTimeoutMs: /);
    expect(() => new ControlServer({ backend, port: 70000 })).toThrow(/^port: /);
    expect(() => new ControlServer({ backend, token: '' })).toThrow(/^token: /);
    expect((await rejection(MemoryNodeClient.connect({ host: '127.0.0.1', port: 0 }))).code).toBe(
      'ERR_DMEM_INVALID_OPTION',
    );
    expect(
      (await rejection(MemoryNodeClient.connect({ host: '127.0.0.1', port: 1, timeoutMs: 0 }))).message,
    ).toMatch(/^timeoutMs: /);
  });

  it('heartbeatMs defaults to a quarter of a short leaseTimeoutMs', async () => {
    const { port } = await startServer({ leaseTimeoutMs: 200 });
    expect((await connect(port)).welcome).toMatchObject({ heartbeatMs: 50, leaseTimeoutMs: 200 });
  });

  it('a port in use is reported with its code and the fix', async () => {
    const { port } = await startServer();
    const second = new ControlServer({ backend: makeBackend(1), port });
    cleanups.push(() => second.close());
    const error = await rejection(second.listen());
    expect(error.code).toBe('EADDRINUSE');
    expect(error.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}: the port is in use`));
  });
});

describe('liveness', () => {
  it('heartbeat() is answered, and the client sends heartbeats by itself', async () => {
    const { port, server } = await startServer({ heartbeatMs: 20, leaseTimeoutMs: 1000 });
    const client = await connect(port);
    await client.heartbeat();
    const before = server.stats().framesReceived;
    await waitFor(() => server.stats().framesReceived >= before + 5, 'five automatic heartbeats');
  });

  it('automatic heartbeats keep an otherwise idle session past leaseTimeoutMs', async () => {
    const { backend, port, server } = await startServer({ heartbeatMs: 20, leaseTimeoutMs: 500 });
    const client = await connect(port);
    const lease = await client.lease();
    const before = server.stats().framesReceived;
    // About 1 s of heartbeats: twice the lease timeout.
    await waitFor(() => server.stats().framesReceived >= before + 50, 'fifty automatic heartbeats', 500);
    expect(server.stats().expiredSessions).toBe(0);
    expect(client.lost).toBe(false);
    expect(backend.ownerOf(lease.slabId)).toBe(client.welcome.sessionId);
  });

  it('stats() reports the node, the backend and this session', async () => {
    const { backend, port, server } = await startServer();
    const client = await connect(port);
    await client.lease();
    const stats = await client.stats();
    expect(stats).toMatchObject({
      sessions: 1,
      connections: 1,
      leases: 1,
      slots: 4,
      freeSlots: 3,
      expiredSessions: 0,
      protocolErrors: 0,
      backend: backend.stats(),
      session: { id: client.welcome.sessionId, leases: 1 },
    });
    expect(server.stats()).toMatchObject({ sessions: 1, leases: 1, freeSlots: 3 });
  });

  it("a killed client's slabs are revoked after leaseTimeoutMs, zeroed, and leased again", async () => {
    const { backend, port, server, logs } = await startServer({ heartbeatMs: 50, leaseTimeoutMs: 200 });
    const { peer, sessionId } = await helloPeer(port);
    peer.send({ type: 'lease', id: 1 });
    peer.send({ type: 'lease', id: 2 });
    await waitFor(() => peer.frames.filter((f) => f.type === 'leased').length === 2, 'two leases');
    if (backend.hasMemory) backend.memory(0).fill(0xab);
    peer.socket.resetAndDestroy();
    await waitFor(() => backend.closedSessions.includes(sessionId), 'the session to expire');
    expect(backend.revokes.sort()).toEqual([0, 1]);
    expect(backend.grantedSlots()).toEqual([]);
    if (backend.hasMemory) expect(backend.memory(0).every((byte) => byte === 0)).toBe(true);
    expect(server.stats()).toMatchObject({ sessions: 0, expiredSessions: 1, freeSlots: 4 });
    const sessionLines = logs.filter((line) => line.startsWith(`session ${sessionId} `));
    expect(sessionLines[sessionLines.length - 2]).toMatch(/disconnected without bye.*2 slabs expire in 200 ms/);
    expect(sessionLines[sessionLines.length - 1]).toMatch(/expired \(control connection closed without bye\): 2 slabs revoked/);
    const next = await connect(port);
    expect((await next.lease()).slabId).toBe(0);
    expect(backend.violations).toEqual([]);
  });

  it('a client that says hello and then nothing expires and is disconnected', async () => {
    const { backend, port, server, logs } = await startServer({ heartbeatMs: 50, leaseTimeoutMs: 200 });
    const { peer, sessionId } = await helloPeer(port);
    peer.send({ type: 'lease', id: 1 });
    await peer.waitForFrame((f) => f.type === 'leased', 'leased');
    await peer.waitClosed('the server to close the idle connection');
    await waitFor(() => backend.closedSessions.includes(sessionId), 'the session to expire');
    expect(backend.grantedSlots()).toEqual([]);
    expect(server.stats().expiredSessions).toBe(1);
    expect(logs).toContainEqual(`session ${sessionId} expired (nothing received for 200 ms): 1 slab revoked`);
  });
});

describe('a lost memory node', () => {
  it('server close() makes clients lost; requests then fail ERR_DMEM_NODE_LOST naming the node', async () => {
    const { backend, port, server } = await startServer();
    const client = await connect(port);
    await client.lease();
    const lostEvents: Error[] = [];
    client.onLost((error) => lostEvents.push(error));
    await server.close();
    await server.close();
    expect(backend.grantedSlots()).toEqual([]);
    expect(backend.closedSessions).toEqual([client.welcome.sessionId]);
    expect(backend.closed).toBe(false); // the backend belongs to the caller
    expect(server.address()).toBeUndefined();
    await waitFor(() => client.lost, 'the client to notice');
    expect(lostEvents).toHaveLength(1);
    const error = await rejection(client.lease());
    expect(error.code).toBe('ERR_DMEM_NODE_LOST');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toMatch(/unreachable/);
    expect((await rejection(client.heartbeat())).code).toBe('ERR_DMEM_NODE_LOST');
    // onLost after the fact still reports, once.
    const late = await new Promise<Error>((resolve) => client.onLost(resolve));
    expect((late as Error & { code: string }).code).toBe('ERR_DMEM_NODE_LOST');
    await client.close();
    expect(backend.violations).toEqual([]);
  });

  it('pending requests reject with ERR_DMEM_NODE_LOST when the node dies mid-request', async () => {
    const node = await startFakeNode();
    const client = await connect(node.port);
    const pending = [client.lease(), client.stats()];
    await waitFor(() => node.received.filter((f) => f.type !== 'hello').length === 2, 'both requests to arrive');
    node.killAll();
    for (const request of pending) {
      const error = await rejection(request);
      expect(error.code).toBe('ERR_DMEM_NODE_LOST');
      expect(error.message).toContain(`127.0.0.1:${node.port}`);
    }
    expect(client.lost).toBe(true);
  });

  it('a node that stalls fails the request after timeoutMs and the client is lost', async () => {
    const node = await startFakeNode();
    const client = await connect(node.port, { timeoutMs: 200 });
    const error = await rejection(client.lease());
    expect(error.code).toBe('ERR_DMEM_NODE_LOST');
    expect(error.message).toMatch(/did not answer lease \(request \d+\) within 200 ms/);
    expect(client.lost).toBe(true);
  });

  it('a node that never answers hello fails connect() after timeoutMs', async () => {
    // Reads (so it sees the client hang up) but never answers.
    const silent = net.createServer((socket) => socket.on('error', () => {}).resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => silent.close(resolve)));
    const port = (silent.address() as net.AddressInfo).port;
    const error = await rejection(MemoryNodeClient.connect({ host: '127.0.0.1', port, timeoutMs: 200 }));
    expect(error.code).toBe('ERR_DMEM_NODE_LOST');
    expect(error.message).toMatch(/did not answer hello within 200 ms/);
  });

  it('a node that answers garbage makes the client lost, not crashed', async () => {
    const replies = [
      rawFrame('not json'),
      encodeFrame({ type: 'leased', id: 1, slabId: 'zero' }),
      encodeFrame({ type: 'released', id: 1, slabId: 0 }),
      encodeFrame({ type: 'heartbeat', id: 4242 }),
      rawFrame('', 1 << 20),
    ];
    for (const reply of replies) {
      const node = await startFakeNode((_frame, socket) => socket.write(reply));
      const client = await connect(node.port);
      const error = await rejection(client.lease());
      expect(error.code).toBe('ERR_DMEM_NODE_LOST');
      expect(error.message).toMatch(/cannot accept/);
      expect(client.lost).toBe(true);
    }
  });
});
