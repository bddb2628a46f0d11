/**
 * MemoryNodeClient: a compute node's control connection to one memory node
 * (docs/PROTOCOL.md). It leases and releases slabs and keeps the session
 * alive with heartbeats; page data never moves here.
 *
 * States: handshake → ready → closing (bye sent) → closed, or ready → lost
 * when the connection drops unexpectedly. A lost client is finished: its
 * session's slabs are gone (or soon will be) on the node, so every pending
 * and later request fails with ERR_DMEM_NODE_LOST, and the caller connects
 * again with MemoryNodeClient.connect().
 *
 * A request that goes unanswered for timeoutMs also makes the client lost: a
 * node that stalls is, to a pager, the same as a node that died, and a late
 * reply to a lease would leave it unclear which slabs the session holds.
 */
import * as net from 'node:net';
import { DmemError, ErrorCodes, OptionError, SystemError } from '../errors';
import type { QueuePairEndpoint } from './backend';
import { encodeFrame, formatHostPort, FrameDecoder, type Frame } from './frames';
import {
  parseServerMessage,
  PROTOCOL_VERSION,
  SERVER_MESSAGE_TYPES,
  type ClientRequest,
  type HelloMessage,
  type ServerReply,
  type WelcomeMessage,
} from './messages';

export interface MemoryNodeClientOptions {
  host: string;
  port: number;
  /** The memory node's token, when it has one. */
  token?: string;
  /** A name for the node's logs, e.g. "vm-17 pager". */
  client?: string;
  /** How long connect + hello, and then each request, may take. Default 10000. */
  timeoutMs?: number;
}

/** One leased slab: remote addresses [address, address + length), named with key. */
export interface Lease {
  slabId: number;
  address: number;
  length: number;
  key: number;
}

type State = 'handshake' | 'ready' | 'closing' | 'closed' | 'lost';
type RequestType = ClientRequest['type'];
type ExpectedReply = {
  lease: 'leased';
  release: 'released';
  heartbeat: 'heartbeat';
  stats: 'stats';
  'connect-qp': 'qp-connected';
  'disconnect-qp': 'qp-disconnected';
};
type ReplyTo<T extends RequestType> = Extract<ServerReply, { type: ExpectedReply[T] }>;

const EXPECTED_REPLY: ExpectedReply = {
  lease: 'leased',
  release: 'released',
  heartbeat: 'heartbeat',
  stats: 'stats',
  'connect-qp': 'qp-connected',
  'disconnect-qp': 'qp-disconnected',
};

interface PendingRequest {
  readonly type: RequestType;
  readonly resolve: (reply: ServerReply) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Handshake {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class MemoryNodeClient {
  /** Where the memory node is, as given to connect(). */
  readonly node: { readonly host: string; readonly port: number };
  readonly #where: string;
  readonly #timeoutMs: number;
  readonly #socket: net.Socket;
  readonly #decoder = new FrameDecoder(SERVER_MESSAGE_TYPES);
  readonly #pending = new Map<number, PendingRequest>();
  readonly #lostListeners = new Set<(error: DmemError) => void>();
  #state: State = 'handshake';
  #welcome: WelcomeMessage | undefined;
  #handshake: Handshake | undefined;
  #nextId = 1;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #heartbeatInFlight = false;
  #lostMessage: string | undefined;
  #socketError: NodeJS.ErrnoException | undefined;
  #closePromise: Promise<void> | undefined;

  /** Connects, says hello and waits for welcome. Auth and version refusals keep the node's code and message. */
  static async connect(options: MemoryNodeClientOptions): Promise<MemoryNodeClient> {
    const client = new MemoryNodeClient(checkOptions(options));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.#failHandshake(
          new DmemError(
            `memory node ${client.#where} did not answer hello within ${client.#timeoutMs} ms: ` +
              'check that `dmem serve` runs there and that the port is the control port',
            ErrorCodes.nodeLost,
          ),
        );
      }, client.#timeoutMs).unref();
      client.#handshake = { resolve, reject, timer };
    });
    return client;
  }

  private constructor(options: CheckedOptions) {
    this.node = { host: options.host, port: options.port };
    this.#where = formatHostPort(options.host, options.port);
    this.#timeoutMs = options.timeoutMs;
    const hello: HelloMessage = { type: 'hello', version: PROTOCOL_VERSION };
    if (options.token !== undefined) hello.token = options.token;
    if (options.client !== undefined) hello.client = options.client;
    this.#socket = net.connect({ host: options.host, port: options.port });
    this.#socket.setNoDelay(true);
    this.#socket.on('connect', () => this.#socket.write(encodeFrame(hello)));
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', (error: NodeJS.ErrnoException) => {
      this.#socketError ??= error;
    });
    this.#socket.on('close', () => this.#onSocketClosed());
  }

  /** The node's welcome: session id, secret, data endpoint, slab size, timers. */
  get welcome(): WelcomeMessage {
    // connect() resolves only after welcome, so an instance always has one.
    return this.#welcome as WelcomeMessage;
  }

  /** True once the connection dropped unexpectedly; see onLost(). */
  get lost(): boolean {
    return this.#state === 'lost';
  }

  async lease(): Promise<Lease> {
    const { slabId, address, length, key } = await this.#request('lease', {});
    return { slabId, address, length, key };
  }

  async release(slabId: number): Promise<void> {
    if (!Number.isInteger(slabId) || slabId < 0 || slabId > 0xffffffff) {
      throw new OptionError('slabId', `expected a slab id from lease(), an integer >= 0, got ${String(slabId)}`);
    }
    await this.#request('release', { slabId });
  }

  /** The node's counters (sessions, leases, free slots, backend data counters) and this session's. */
  async stats(): Promise<Record<string, unknown>> {
    return (await this.#request('stats', {})).stats;
  }

  /**
   * Verbs: has the memory node connect a queue pair of this session to the
   * client's `endpoint`; resolves with the node's endpoint. A node that does
   * not serve verbs answers ERR_DMEM_WRONG_TRANSPORT.
   */
  async connectQp(endpoint: QueuePairEndpoint): Promise<QueuePairEndpoint> {
    const { qpn, psn, gid, lid, mtu } = await this.#request('connect-qp', endpoint);
    return { qpn, psn, gid, lid, mtu };
  }

  /** Verbs: frees the memory node's queue pair `qpn` (one connectQp returned). */
  async disconnectQp(qpn: number): Promise<void> {
    await this.#request('disconnect-qp', { qpn });
  }

  /** Sent automatically every welcome.heartbeatMs; call it to check liveness now. */
  async heartbeat(): Promise<void> {
    await this.#request('heartbeat', {});
  }

  /**
   * Calls `listener` once, when the connection drops unexpectedly (or at once,
   * asynchronously, if it already has). Returns a function that unsubscribes.
   */
  onLost(listener: (error: DmemError) => void): () => void {
    if (this.#state === 'lost') {
      const error = this.#lostError();
      queueMicrotask(() => listener(error));
      return () => {};
    }
    this.#lostListeners.add(listener);
    return () => this.#lostListeners.delete(listener);
  }

  /** Says bye (the node releases every lease at once) and ends the connection. Safe twice. */
  close(): Promise<void> {
    this.#closePromise ??= this.#closeOnce();
    return this.#closePromise;
  }

  #closeOnce(): Promise<void> {
    this.#stopHeartbeats();
    this.#lostListeners.clear();
    if (this.#state !== 'ready') return Promise.resolve();
    this.#state = 'closing';
    this.#socket.end(encodeFrame({ type: 'bye' }));
    return new Promise<void>((resolve) => {
      if (this.#socket.destroyed) resolve();
      else this.#socket.once('close', () => resolve());
      // A node that never finishes closing does not hold close() up.
      setTimeout(() => this.#socket.destroy(), this.#timeoutMs).unref();
    });
  }

  // ---- requests ---------------------------------------------------------------

  #request<T extends RequestType>(
    type: T,
    fields: Omit<Extract<ClientRequest, { type: T }>, 'type' | 'id'>,
  ): Promise<ReplyTo<T>> {
    if (this.#state === 'lost') return Promise.reject(this.#lostError());
    if (this.#state !== 'ready') {
      return Promise.reject(
        new DmemError(
          `cannot ${type}: this MemoryNodeClient for ${this.#where} is closed; connect again with MemoryNodeClient.connect()`,
          ErrorCodes.closed,
        ),
      );
    }
    const id = this.#nextId++;
    return new Promise<ReplyTo<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#lose(`it did not answer ${type} (request ${id}) within ${this.#timeoutMs} ms`);
      }, this.#timeoutMs).unref();
      this.#pending.set(id, { type, resolve: resolve as (reply: ServerReply) => void, reject, timer });
      this.#socket.write(encodeFrame({ type, id, ...fields } as ClientRequest));
    });
  }

  #onData(chunk: Buffer): void {
    const { frames, error } = this.#decoder.push(chunk);
    for (const frame of frames) {
      if (this.#state === 'handshake') this.#onHandshakeFrame(frame);
      else if (this.#state === 'ready' || this.#state === 'closing') this.#onFrame(frame);
    }
    if (error !== undefined) this.#onBadFrame(error.message);
  }

  #onHandshakeFrame(frame: Frame): void {
    let message;
    try {
      message = parseServerMessage(frame);
    } catch (error) {
      this.#onBadFrame((error as Error).message);
      return;
    }
    if (message.type === 'error') {
      // Refused (auth, version): the node's own code and words are the clearest.
      this.#failHandshake(new DmemError(message.message, message.code));
    } else if (message.type !== 'welcome') {
      this.#onBadFrame(`it answered hello with ${message.type}, not welcome`);
    } else if (message.version !== PROTOCOL_VERSION) {
      this.#failHandshake(
        new DmemError(
          `memory node ${this.#where} speaks control protocol version ${message.version}, this client ` +
            `version ${PROTOCOL_VERSION}: run the same dmem version on the compute and memory nodes`,
          ErrorCodes.version,
        ),
      );
    } else {
      this.#welcome = message;
      this.#state = 'ready';
      const handshake = this.#handshake;
      this.#handshake = undefined;
      if (handshake !== undefined) {
        clearTimeout(handshake.timer);
        handshake.resolve();
      }
      this.#heartbeatTimer = setInterval(() => this.#sendHeartbeat(), message.heartbeatMs).unref();
    }
  }

  #onFrame(frame: Frame): void {
    let parsed;
    try {
      parsed = parseServerMessage(frame);
    } catch (error) {
      this.#onBadFrame((error as Error).message);
      return;
    }
    if (parsed.type === 'welcome') {
      this.#onBadFrame('it sent a second welcome');
      return;
    }
    const message: ServerReply = parsed;
    if (message.type === 'error' && message.id === undefined) {
      // An error without id: the node is about to close this connection and says why.
      this.#lose(`it closed the connection: ${message.code}: ${message.message}`);
      return;
    }
    const id = message.id as number;
    const pending = this.#pending.get(id);
    if (pending === undefined) {
      this.#onBadFrame(`it answered request ${id}, which is not pending`);
      return;
    }
    if (message.type !== 'error' && message.type !== EXPECTED_REPLY[pending.type]) {
      this.#onBadFrame(`it answered ${pending.type} (request ${id}) with ${message.type}`);
      return;
    }
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (message.type === 'error') pending.reject(new DmemError(message.message, message.code));
    else pending.resolve(message);
  }

  #onBadFrame(detail: string): void {
    const reason = `it sent a frame this client cannot accept: ${detail}`;
    if (this.#state === 'handshake') {
      this.#failHandshake(new DmemError(`memory node ${this.#where}: ${reason}`, ErrorCodes.protocol));
    } else {
      this.#lose(reason);
    }
  }

  #onSocketClosed(): void {
    switch (this.#state) {
      case 'handshake':
        this.#failHandshake(this.#connectError());
        return;
      case 'ready': {
        const error = this.#socketError;
        this.#lose(
          error === undefined ? 'it closed the connection' : `the connection failed: ${error.code ?? error.message}`,
        );
        return;
      }
      case 'closing':
        this.#state = 'closed';
        this.#rejectPending(
          (type) =>
            new DmemError(
              `${type} was still unanswered when this MemoryNodeClient for ${this.#where} closed`,
              ErrorCodes.closed,
            ),
        );
        return;
      default:
        return;
    }
  }

  // ---- failure ------------------------------------------------------------------

  #failHandshake(error: Error): void {
    const handshake = this.#handshake;
    this.#handshake = undefined;
    this.#state = 'closed';
    this.#socket.destroy();
    if (handshake === undefined) return;
    clearTimeout(handshake.timer);
    handshake.reject(error);
  }

  #connectError(): Error {
    const error = this.#socketError;
    if (error?.code === 'ECONNREFUSED') {
      return new SystemError(
        `cannot connect to memory node ${this.#where}: connection refused; ` +
          `start one there with \`dmem serve --port ${this.node.port}\`, or check host and port`,
        error.code,
        error.errno ?? -111,
        error.syscall ?? 'connect',
      );
    }
    if (error !== undefined && typeof error.code === 'string') {
      return new SystemError(
        `cannot connect to memory node ${this.#where}: ${error.message}; check host and port, and that \`dmem serve\` runs there`,
        error.code,
        error.errno ?? 0,
        error.syscall ?? 'connect',
      );
    }
    return new DmemError(
      `memory node ${this.#where} closed the connection before welcome: is \`dmem serve\` listening on that port?`,
      ErrorCodes.nodeLost,
    );
  }

  /** The connection is unusable: fail everything, once, and tell the listeners. */
  #lose(reason: string): void {
    if (this.#state !== 'ready') return;
    this.#state = 'lost';
    this.#lostMessage =
      `memory node ${this.#where} is unreachable (${reason}); this session's slabs are gone: ` +
      'check that `dmem serve` still runs there, then connect again with MemoryNodeClient.connect()';
    this.#stopHeartbeats();
    this.#socket.destroy();
    this.#rejectPending(() => this.#lostError());
    const listeners = [...this.#lostListeners];
    this.#lostListeners.clear();
    for (const listener of listeners) listener(this.#lostError());
  }

  #lostError(): DmemError {
    return new DmemError(this.#lostMessage ?? `memory node ${this.#where} is unreachable`, ErrorCodes.nodeLost);
  }

  #rejectPending(errorFor: (type: RequestType) => Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) {
      clearTimeout(request.timer);
      request.reject(errorFor(request.type));
    }
  }

  #sendHeartbeat(): void {
    if (this.#heartbeatInFlight || this.#state !== 'ready') return;
    this.#heartbeatInFlight = true;
    // A failed heartbeat already made the client lost; nothing more to report here.
    this.heartbeat()
      .catch(() => {})
      .finally(() => {
        this.#heartbeatInFlight = false;
      });
  }

  #stopHeartbeats(): void {
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
  }
}

type CheckedOptions = MemoryNodeClientOptions & { timeoutMs: number };

function checkOptions(options: MemoryNodeClientOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError('options', 'expected { host, port, token?, client?, timeoutMs? }');
  }
  const { host, port, token, client, timeoutMs = 10_000 } = options;
  if (typeof host !== 'string' || host === '') {
    throw new OptionError('host', `expected the memory node's host name or address, got ${String(host)}`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new OptionError('port', `expected the memory node's control port, an integer in [1, 65535], got ${String(port)}`);
  }
  if (token !== undefined && typeof token !== 'string') throw new OptionError('token', 'expected a string');
  if (client !== undefined && typeof client !== 'string') throw new OptionError('client', 'expected a string');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2 ** 31 - 1) {
    throw new OptionError('timeoutMs', `expected an integer number of milliseconds >= 1, got ${String(timeoutMs)}`);
  }
  return { host, port, token, client, timeoutMs };
}
