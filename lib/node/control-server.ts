/**
 * ControlServer: the memory node's side of the control protocol
 * (docs/PROTOCOL.md). It owns policy: who may connect, which slot a lease
 * gets, when a session expires. The SlabBackend it is given does the
 * mechanism (memory, data connections) and stays the caller's: close() here
 * revokes every slab and closes every session, but never closes the backend.
 *
 * One connection, one session. A connection goes: connected → (hello) →
 * session open → (bye | protocol error | idle | socket closed) → closed.
 * A session outlives its connection only when the socket closed without
 * `bye`: its slabs stay leased for leaseTimeoutMs, then expire. Nothing can
 * resume such a session in protocol version 1; the grace period lets data
 * operations already in flight finish against memory that is still theirs.
 *
 * Every timer is unref()'d, every socket has an 'error' listener, and every
 * backend call is guarded: a misbehaving client or a failing backend call
 * costs that client its connection, never the node its process.
 */
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import * as os from 'node:os';
import { DmemError, ErrorCodes } from '../errors';
import { formatBytes } from '../util/size';
import { VerbsErrorCodes } from '../verbs/errors';
import type { BackendStats, SlabBackend } from './backend';
import { checkOptions, listenError, tokensMatch, type ServerConfig } from './control-server-config';
import { encodeFrame, formatHostPort, FrameDecoder } from './frames';
import { SlotTable } from './slot-table';
import {
  CLIENT_MESSAGE_TYPES,
  parseClientMessage,
  PROTOCOL_VERSION,
  type ClientMessage,
  type ConnectQpRequest,
  type HelloMessage,
  type ServerMessage,
} from './messages';

export interface ControlServerOptions {
  /** Owned by the caller: the server never closes it. */
  backend: SlabBackend;
  /** Default '127.0.0.1': listening on the network is a decision to make explicitly. */
  host?: string;
  /** 0 (the default) picks a free port; address() tells which. */
  port?: number;
  /** When set, hello must carry the same token. */
  token?: string;
  /** How often clients are told to send a heartbeat. Default 1000, or leaseTimeoutMs / 4 if less. */
  heartbeatMs?: number;
  /** How long a silent or disconnected session keeps its slabs. Default 10000. */
  leaseTimeoutMs?: number;
  /** How long a new connection may take to send hello. Default 5000. */
  helloTimeoutMs?: number;
  /** Names this node in welcome; default "<hostname>:<port>". */
  nodeId?: string;
  /** One line per connect, disconnect, lease, release, expiry and refusal. Default: none. */
  log?: (line: string) => void;
}

export interface ControlServerStats {
  /** Sessions holding state: connected, or disconnected and awaiting expiry. */
  sessions: number;
  connections: number;
  leases: number;
  slots: number;
  freeSlots: number;
  expiredSessions: number;
  protocolErrors: number;
  framesReceived: number;
  backend: BackendStats;
}

interface Session {
  readonly id: number;
  readonly slots: Set<number>;
  expiryTimer: NodeJS.Timeout | undefined;
  ended: boolean;
}

interface Connection {
  readonly socket: net.Socket;
  readonly remote: string;
  readonly decoder: FrameDecoder;
  session: Session | undefined;
  /** Set when we decided to close: later frames are ignored, nothing more is sent. */
  closing: boolean;
  socketError: Error | undefined;
  helloTimer: NodeJS.Timeout | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  destroyTimer: NodeJS.Timeout | undefined;
}

/** How long a closing connection may take to drain its last frame before it is destroyed. */
const LINGER_MS = 1000;
const AUTH_MESSAGE = "wrong or missing token: pass --token or set DMEM_TOKEN to the memory node's token";

export class ControlServer {
  readonly #backend: SlabBackend;
  readonly #config: ServerConfig;
  readonly #log: (line: string) => void;
  #nodeId: string | undefined;

  readonly #server: net.Server;
  readonly #connections = new Set<Connection>();
  readonly #sessions = new Map<number, Session>();
  readonly #slots: SlotTable;
  #leases = 0;
  #nextSessionId = 1;
  #expiredSessions = 0;
  #protocolErrors = 0;
  #framesReceived = 0;
  #listenPromise: Promise<{ host: string; port: number }> | undefined;
  #listening: { host: string; port: number } | undefined;
  #closePromise: Promise<void> | undefined;

  constructor(options: ControlServerOptions) {
    this.#config = checkOptions(options);
    this.#backend = options.backend;
    this.#nodeId = options.nodeId;
    this.#log = options.log ?? (() => {});
    this.#slots = new SlotTable(this.#backend.slots);
    this.#server = net.createServer((socket) => this.#onConnection(socket));
  }

  /** Starts accepting control connections; resolves with the bound address. Safe to call again. */
  listen(): Promise<{ host: string; port: number }> {
    if (this.#closePromise !== undefined) {
      return Promise.reject(new DmemError('ControlServer is closed: create a new one', ErrorCodes.closed));
    }
    this.#listenPromise ??= this.#listenOnce().catch((error: unknown) => {
      this.#listenPromise = undefined; // e.g. EADDRINUSE: the caller may free the port and retry
      throw error;
    });
    return this.#listenPromise.then((address) => ({ ...address }));
  }

  #listenOnce(): Promise<{ host: string; port: number }> {
    const { host, port } = this.#config;
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, host, port));
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        // From now on a server error (rare: EMFILE on accept) is logged, never a crash.
        this.#server.on('error', (error) => this.#log(`control server error: ${error.message}`));
        if (this.#closePromise !== undefined) {
          // close() ran while the socket was being bound: undo the bind.
          this.#server.close();
          reject(new DmemError('ControlServer was closed while it started listening', ErrorCodes.closed));
          return;
        }
        const bound = this.#server.address() as net.AddressInfo;
        this.#listening = { host: bound.address, port: bound.port };
        this.#nodeId ??= `${os.hostname()}:${bound.port}`;
        resolve(this.#listening);
      });
    });
  }

  /** The bound address, or undefined before listen() resolves and after close(). */
  address(): { host: string; port: number } | undefined {
    return this.#listening === undefined ? undefined : { ...this.#listening };
  }

  stats(): ControlServerStats {
    return {
      sessions: this.#sessions.size,
      connections: this.#connections.size,
      leases: this.#leases,
      slots: this.#slots.size,
      freeSlots: this.#slots.freeCount(),
      expiredSessions: this.#expiredSessions,
      protocolErrors: this.#protocolErrors,
      framesReceived: this.#framesReceived,
      backend: this.#backend.stats(),
    };
  }

  /** Revokes every slab, ends every session and connection, stops listening. Safe twice. */
  close(): Promise<void> {
    this.#closePromise ??= this.#closeOnce();
    return this.#closePromise;
  }

  async #closeOnce(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    if (sessions.length > 0) this.#log(`memory node closing: ending ${sessions.length} session(s)`);
    for (const session of sessions) this.#endSession(session);
    for (const connection of this.#connections) {
      connection.closing = true;
      clearConnectionTimers(connection);
      connection.socket.destroy();
    }
    this.#listening = undefined;
    if (this.#server.listening) await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- connections ----------------------------------------------------------

  #onConnection(socket: net.Socket): void {
    if (this.#closePromise !== undefined) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const connection: Connection = {
      socket,
      remote: formatHostPort(socket.remoteAddress ?? 'unknown', socket.remotePort ?? 0),
      decoder: new FrameDecoder(CLIENT_MESSAGE_TYPES),
      session: undefined,
      closing: false,
      socketError: undefined,
      helloTimer: undefined,
      idleTimer: undefined,
      destroyTimer: undefined,
    };
    this.#connections.add(connection);
    connection.helloTimer = setTimeout(
      () => this.#protocolError(connection, `no hello within ${this.#config.helloTimeoutMs} ms of connecting`),
      this.#config.helloTimeoutMs,
    ).unref();
    socket.on('data', (chunk: Buffer) => this.#onData(connection, chunk));
    // ECONNRESET and friends: remember for the disconnect line; 'close' follows.
    socket.on('error', (error) => {
      connection.socketError ??= error;
    });
    socket.on('close', () => this.#onSocketClosed(connection));
  }

  #onData(connection: Connection, chunk: Buffer): void {
    if (connection.closing) return;
    const { frames, error } = connection.decoder.push(chunk);
    for (const frame of frames) {
      if (connection.closing) return;
      this.#framesReceived++;
      // Liveness: any frame counts, even one about to be refused.
      connection.idleTimer?.refresh();
      let message: ClientMessage;
      try {
        message = parseClientMessage(frame);
      } catch (parseError) {
        this.#protocolError(connection, (parseError as Error).message);
        return;
      }
      try {
        this.#onMessage(connection, message);
      } catch (failure) {
        this.#internalError(connection, message.type, failure);
        return;
      }
    }
    if (error !== undefined && !connection.closing) this.#protocolError(connection, error.message);
  }

  #onMessage(connection: Connection, message: ClientMessage): void {
    const session = connection.session;
    if (message.type === 'hello') {
      if (session !== undefined) this.#protocolError(connection, `hello sent twice (session ${session.id} is open)`);
      else this.#onHello(connection, message);
      return;
    }
    if (session === undefined) {
      this.#protocolError(connection, `${message.type} before hello; hello must be the first frame`);
      return;
    }
    switch (message.type) {
      case 'lease':
        this.#onLease(connection, session, message.id);
        return;
      case 'release':
        this.#onRelease(connection, session, message.id, message.slabId);
        return;
      case 'heartbeat':
        this.#send(connection, { type: 'heartbeat', id: message.id });
        return;
      case 'connect-qp':
        this.#onConnectQp(connection, session, message);
        return;
      case 'disconnect-qp':
        this.#onDisconnectQp(connection, session, message.id, message.qpn);
        return;
      case 'stats':
        this.#send(connection, {
          type: 'stats',
          id: message.id,
          stats: { ...this.stats(), session: { id: session.id, leases: session.slots.size } },
        });
        return;
      case 'bye': {
        const slabs = session.slots.size;
        this.#endSession(session);
        this.#log(`session ${session.id} disconnected (bye), ${plural(slabs, 'slab')} released`);
        this.#closeConnection(connection);
        return;
      }
    }
  }

  #onHello(connection: Connection, hello: HelloMessage): void {
    clearTimeout(connection.helloTimer);
    connection.helloTimer = undefined;
    if (hello.version !== PROTOCOL_VERSION) {
      this.#refuse(
        connection,
        ErrorCodes.version,
        `this memory node speaks control protocol version ${PROTOCOL_VERSION}, the client sent version ` +
          `${hello.version}: run the same dmem version on the compute and memory nodes`,
      );
      return;
    }
    if (this.#config.token !== undefined && !tokensMatch(this.#config.token, hello.token)) {
      this.#refuse(connection, ErrorCodes.auth, AUTH_MESSAGE);
      return;
    }
    const id = this.#nextSessionId++;
    const secret = crypto.randomBytes(8).toString('hex');
    try {
      this.#backend.openSession(id, secret);
    } catch (error) {
      this.#refuse(connection, backendErrorCode(error), `memory node could not open a session: ${messageOf(error)}`);
      return;
    }
    const session: Session = { id, slots: new Set(), expiryTimer: undefined, ended: false };
    this.#sessions.set(id, session);
    connection.session = session;
    connection.idleTimer = setTimeout(() => this.#onIdle(connection), this.#config.leaseTimeoutMs).unref();
    this.#send(connection, {
      type: 'welcome',
      version: PROTOCOL_VERSION,
      nodeId: this.#nodeId ?? os.hostname(),
      sessionId: id,
      secret,
      transport: this.#backend.transport,
      data: this.#backend.dataEndpoint(),
      slabSize: this.#backend.slabSize,
      addressBase: this.#backend.addressBase,
      poolBytes: this.#backend.slots * this.#backend.slabSize,
      heartbeatMs: this.#config.heartbeatMs,
      leaseTimeoutMs: this.#config.leaseTimeoutMs,
    });
    const name = hello.client === undefined ? '' : ` (client ${JSON.stringify(hello.client)})`;
    this.#log(`client ${connection.remote} session ${id} connected${name}`);
  }

  #onLease(connection: Connection, session: Session, id: number): void {
    const slot = this.#slots.lowestFree();
    if (slot === undefined) {
      const pool = formatBytes(this.#slots.size * this.#backend.slabSize);
      this.#send(connection, {
        type: 'error',
        id,
        code: ErrorCodes.poolExhausted,
        message:
          `memory node pool exhausted: all ${plural(this.#slots.size, 'slab')} (${pool}) are leased; ` +
          'release slabs you no longer need, use another memory node, or start this one with a larger pool',
      });
      return;
    }
    let grant;
    try {
      grant = this.#backend.grant(slot, session.id);
    } catch (error) {
      this.#send(connection, {
        type: 'error',
        id,
        code: backendErrorCode(error),
        message: `memory node could not back slab ${slot}: ${messageOf(error)}`,
      });
      return;
    }
    this.#slots.take(slot, session.id);
    this.#leases++;
    session.slots.add(slot);
    this.#send(connection, {
      type: 'leased',
      id,
      slabId: slot,
      address: grant.address,
      length: grant.length,
      key: grant.key,
    });
    this.#log(
      `session ${session.id} leased slab ${slot} (${formatBytes(grant.length)} at 0x${grant.address.toString(16)})`,
    );
  }

  #onRelease(connection: Connection, session: Session, id: number, slabId: number): void {
    if (!session.slots.has(slabId)) {
      this.#send(connection, {
        type: 'error',
        id,
        code: ErrorCodes.unknownSlab,
        message:
          `slab ${slabId} is not leased by session ${session.id}: ` +
          'release only slab ids your own lease replies returned, once each',
      });
      return;
    }
    session.slots.delete(slabId);
    this.#revokeSlot(session, slabId);
    this.#send(connection, { type: 'released', id, slabId });
    this.#log(`session ${session.id} released slab ${slabId}`);
  }

  #onConnectQp(connection: Connection, session: Session, request: ConnectQpRequest): void {
    const { id, type: _type, ...client } = request;
    if (this.#backend.connectQueuePair === undefined) {
      this.#send(connection, {
        type: 'error',
        id,
        code: VerbsErrorCodes.wrongTransport,
        message: `connect-qp: this memory node serves ${this.#backend.transport}, not verbs; use the ${this.#backend.transport} transport`,
      });
      return;
    }
    let node;
    try {
      node = this.#backend.connectQueuePair(session.id, client);
    } catch (error) {
      this.#send(connection, {
        type: 'error',
        id,
        code: backendErrorCode(error),
        message: `memory node could not connect a queue pair to QP ${client.qpn}: ${messageOf(error)}`,
      });
      return;
    }
    this.#send(connection, { type: 'qp-connected', id, ...node });
    this.#log(`session ${session.id} connected queue pair ${node.qpn} to client QP ${client.qpn}`);
  }

  #onDisconnectQp(connection: Connection, session: Session, id: number, qpn: number): void {
    if (this.#backend.disconnectQueuePair?.(session.id, qpn) !== true) {
      this.#send(connection, {
        type: 'error',
        id,
        code: VerbsErrorCodes.unknownQp,
        message: `queue pair ${qpn} is not one of session ${session.id}'s: disconnect only QPs your own connect-qp replies named, once each`,
      });
      return;
    }
    this.#send(connection, { type: 'qp-disconnected', id, qpn });
  }

  /**
   * The peer broke the protocol. Policy: its session ends now (slabs revoked
   * at once) rather than waiting out leaseTimeoutMs as after a plain
   * disconnect: no v1 session can be resumed, and a peer that sends garbage
   * should not hold pool memory a moment longer than needed.
   */
  #protocolError(connection: Connection, detail: string): void {
    if (connection.closing) return;
    this.#protocolErrors++;
    this.#send(connection, { type: 'error', code: ErrorCodes.protocol, message: `protocol error: ${detail}` });
    const session = connection.session;
    if (session !== undefined && !session.ended) {
      const slabs = session.slots.size;
      this.#endSession(session);
      this.#log(
        `session ${session.id} protocol error: ${detail}; connection closed, ${plural(slabs, 'slab')} revoked`,
      );
    } else {
      this.#log(`client ${connection.remote} protocol error: ${detail}; connection closed`);
    }
    this.#closeConnection(connection);
  }

  /** A safety net: a backend call that threw where none was expected costs this connection, not the node. */
  #internalError(connection: Connection, what: string, failure: unknown): void {
    const message = `memory node failed while handling ${what}: ${messageOf(failure)}`;
    this.#send(connection, { type: 'error', code: backendErrorCode(failure), message });
    const session = connection.session;
    if (session !== undefined) this.#endSession(session);
    this.#log(`client ${connection.remote}${session === undefined ? '' : ` session ${session.id}`}: ${message}`);
    this.#closeConnection(connection);
  }

  #refuse(connection: Connection, code: string, message: string): void {
    this.#send(connection, { type: 'error', code, message });
    this.#log(`client ${connection.remote} refused: ${message}`);
    this.#closeConnection(connection);
  }

  #onIdle(connection: Connection): void {
    const session = connection.session;
    if (session === undefined || session.ended || connection.closing) return;
    this.#expireSession(session, `nothing received for ${this.#config.leaseTimeoutMs} ms`);
    this.#closeConnection(connection);
  }

  #onSocketClosed(connection: Connection): void {
    this.#connections.delete(connection);
    connection.closing = true;
    clearConnectionTimers(connection);
    const session = connection.session;
    if (session === undefined || session.ended) return;
    const why = connection.socketError === undefined ? '' : ` (${messageOf(connection.socketError)})`;
    this.#log(
      `session ${session.id} disconnected without bye${why}; ` +
        `its ${plural(session.slots.size, 'slab')} expire in ${this.#config.leaseTimeoutMs} ms`,
    );
    session.expiryTimer = setTimeout(
      () => this.#expireSession(session, 'control connection closed without bye'),
      this.#config.leaseTimeoutMs,
    ).unref();
  }

  /** Stops reading and writing; lets the last frame drain, then the socket goes. */
  #closeConnection(connection: Connection): void {
    if (connection.closing) return;
    connection.closing = true;
    clearConnectionTimers(connection);
    connection.socket.end();
    connection.destroyTimer = setTimeout(() => connection.socket.destroy(), LINGER_MS).unref();
  }

  #send(connection: Connection, message: ServerMessage): void {
    const socket = connection.socket;
    if (connection.closing || socket.destroyed || !socket.writable) return;
    // Throws only for a frame over MAX_FRAME_BYTES: a bug here, reported by #internalError.
    const frame = encodeFrame(message);
    // A peer that stops reading its replies stops being read: its requests pile up on its side.
    if (!socket.write(frame) && !socket.isPaused()) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  }

  // ---- sessions and slots ---------------------------------------------------

  #expireSession(session: Session, why: string): void {
    if (session.ended) return;
    this.#expiredSessions++;
    const slabs = session.slots.size;
    this.#endSession(session);
    this.#log(`session ${session.id} expired (${why}): ${plural(slabs, 'slab')} revoked`);
  }

  /** Revokes the session's slabs, then closes it in the backend (the order backend.ts asks for). */
  #endSession(session: Session): void {
    if (session.ended) return;
    session.ended = true;
    clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    for (const slot of session.slots) this.#revokeSlot(session, slot);
    session.slots.clear();
    try {
      this.#backend.closeSession(session.id);
    } catch (error) {
      this.#log(`session ${session.id}: backend failed to close the session: ${messageOf(error)}`);
    }
    this.#sessions.delete(session.id);
  }

  #revokeSlot(session: Session, slot: number): void {
    this.#leases--;
    try {
      this.#backend.revoke(slot);
    } catch (error) {
      this.#slots.quarantine(slot);
      this.#log(
        `session ${session.id}: backend failed to revoke slab ${slot}, which is never leased again: ${messageOf(error)}`,
      );
      return;
    }
    this.#slots.free(slot);
  }
}

// ---- helpers ------------------------------------------------------------------

function clearConnectionTimers(connection: Connection): void {
  clearTimeout(connection.helloTimer);
  clearTimeout(connection.idleTimer);
  connection.helloTimer = undefined;
  connection.idleTimer = undefined;
  // destroyTimer stays: it is what finally frees a peer that never closes its side.
}

function backendErrorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
