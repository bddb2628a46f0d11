/**
 * The control protocol's messages (docs/PROTOCOL.md) as TypeScript types, and
 * the validators that turn a decoded frame into one of them.
 *
 * Validation is strict about the fields the protocol defines (type, range)
 * and ignores fields it does not define, so that a later version 1 peer may
 * add a field without breaking an older one. A bad field throws
 * ERR_DMEM_PROTOCOL naming `<type>.<field>`, what was expected and what came.
 */
import type { DataEndpoint, QueuePairEndpoint, TransportKind } from './backend';
import { describeValue, protocolError, type Frame } from './frames';

export const PROTOCOL_VERSION = 1;

// ---- client → server ------------------------------------------------------

export interface HelloMessage {
  type: 'hello';
  version: number;
  token?: string;
  /** A free-form name for logs, e.g. "vm-17 pager". */
  client?: string;
}
export interface LeaseRequest {
  type: 'lease';
  id: number;
}
export interface ReleaseRequest {
  type: 'release';
  id: number;
  slabId: number;
}
export interface HeartbeatRequest {
  type: 'heartbeat';
  id: number;
}
export interface StatsRequest {
  type: 'stats';
  id: number;
}
/** Verbs: connect the memory node's side of one lane (the client's QP endpoint). */
export interface ConnectQpRequest extends QueuePairEndpoint {
  type: 'connect-qp';
  id: number;
}
/** Verbs: free the memory node's queue pair `qpn` (a lane that closed). */
export interface DisconnectQpRequest {
  type: 'disconnect-qp';
  id: number;
  qpn: number;
}
export interface ByeMessage {
  type: 'bye';
}
export type ClientRequest =
  | LeaseRequest
  | ReleaseRequest
  | HeartbeatRequest
  | StatsRequest
  | ConnectQpRequest
  | DisconnectQpRequest;
export type ClientMessage = HelloMessage | ClientRequest | ByeMessage;

// ---- server → client ------------------------------------------------------

export interface WelcomeMessage {
  type: 'welcome';
  version: number;
  nodeId: string;
  sessionId: number;
  /** 16 hex digits; a data connection presents it to join the session. */
  secret: string;
  transport: TransportKind;
  data: DataEndpoint;
  slabSize: number;
  addressBase: number;
  poolBytes: number;
  heartbeatMs: number;
  leaseTimeoutMs: number;
}
/** With `id`: the answer to that request. Without: the connection is about to close. */
export interface ErrorMessage {
  type: 'error';
  id?: number;
  code: string;
  message: string;
}
export interface LeasedMessage {
  type: 'leased';
  id: number;
  slabId: number;
  address: number;
  length: number;
  key: number;
}
export interface ReleasedMessage {
  type: 'released';
  id: number;
  slabId: number;
}
export interface HeartbeatReply {
  type: 'heartbeat';
  id: number;
}
export interface StatsReply {
  type: 'stats';
  id: number;
  stats: Record<string, unknown>;
}
/** The memory node's QP endpoint, connected to the client's. */
export interface QpConnectedMessage extends QueuePairEndpoint {
  type: 'qp-connected';
  id: number;
}
export interface QpDisconnectedMessage {
  type: 'qp-disconnected';
  id: number;
  qpn: number;
}
export type ServerReply =
  | ErrorMessage
  | LeasedMessage
  | ReleasedMessage
  | HeartbeatReply
  | StatsReply
  | QpConnectedMessage
  | QpDisconnectedMessage;
export type ServerMessage = WelcomeMessage | ServerReply;

export const CLIENT_MESSAGE_TYPES: readonly ClientMessage['type'][] = [
  'hello',
  'lease',
  'release',
  'heartbeat',
  'stats',
  'connect-qp',
  'disconnect-qp',
  'bye',
];
export const SERVER_MESSAGE_TYPES: readonly ServerMessage['type'][] = [
  'welcome',
  'error',
  'leased',
  'released',
  'heartbeat',
  'stats',
  'qp-connected',
  'qp-disconnected',
];

const TRANSPORTS: readonly TransportKind[] = ['tcp', 'shm', 'file', 'verbs'];
const MAX_U32 = 0xffffffff;

/** Checks a decoded frame from a client; throws ERR_DMEM_PROTOCOL naming the bad field. */
export function parseClientMessage(value: unknown): ClientMessage {
  const frame = asFrame(value, CLIENT_MESSAGE_TYPES);
  const type = frame.type as ClientMessage['type'];
  const f = new Fields(frame, type);
  switch (type) {
    case 'hello': {
      const hello: HelloMessage = { type: 'hello', version: f.integer('version', 0, MAX_U32) };
      const token = f.optionalString('token');
      const client = f.optionalString('client');
      if (token !== undefined) hello.token = token;
      if (client !== undefined) hello.client = client;
      return hello;
    }
    case 'lease':
    case 'heartbeat':
    case 'stats':
      return { type, id: f.requestId() };
    case 'release':
      return { type: 'release', id: f.requestId(), slabId: f.integer('slabId', 0, MAX_U32) };
    case 'connect-qp':
      return { type, id: f.requestId(), ...queuePairEndpoint(f) };
    case 'disconnect-qp':
      return { type, id: f.requestId(), qpn: f.integer('qpn', 1, MAX_U24) };
    case 'bye':
      return { type: 'bye' };
    default:
      throw unknownType(type, CLIENT_MESSAGE_TYPES);
  }
}

/** Checks a decoded frame from a memory node; throws ERR_DMEM_PROTOCOL naming the bad field. */
export function parseServerMessage(value: unknown): ServerMessage {
  const frame = asFrame(value, SERVER_MESSAGE_TYPES);
  const type = frame.type as ServerMessage['type'];
  const f = new Fields(frame, type);
  switch (type) {
    case 'welcome':
      return {
        type: 'welcome',
        version: f.integer('version', 0, MAX_U32),
        nodeId: f.string('nodeId'),
        sessionId: f.integer('sessionId', 0, Number.MAX_SAFE_INTEGER),
        secret: f.matching('secret', /^[0-9a-f]{16}$/, '16 lowercase hex digits'),
        transport: f.oneOf('transport', TRANSPORTS),
        data: parseDataEndpoint(f.object('data')),
        slabSize: f.integer('slabSize', 1, Number.MAX_SAFE_INTEGER),
        addressBase: f.integer('addressBase', 0, Number.MAX_SAFE_INTEGER),
        poolBytes: f.integer('poolBytes', 0, Number.MAX_SAFE_INTEGER),
        heartbeatMs: f.integer('heartbeatMs', 1, MAX_U32),
        leaseTimeoutMs: f.integer('leaseTimeoutMs', 1, MAX_U32),
      };
    case 'error': {
      const error: ErrorMessage = { type: 'error', code: f.string('code'), message: f.string('message') };
      if (f.has('id')) error.id = f.requestId();
      return error;
    }
    case 'leased':
      return {
        type: 'leased',
        id: f.requestId(),
        slabId: f.integer('slabId', 0, MAX_U32),
        address: f.integer('address', 0, Number.MAX_SAFE_INTEGER),
        length: f.integer('length', 1, Number.MAX_SAFE_INTEGER),
        key: f.integer('key', 0, MAX_U32),
      };
    case 'released':
      return { type: 'released', id: f.requestId(), slabId: f.integer('slabId', 0, MAX_U32) };
    case 'heartbeat':
      return { type: 'heartbeat', id: f.requestId() };
    case 'stats':
      return { type: 'stats', id: f.requestId(), stats: f.object('stats') };
    case 'qp-connected':
      return { type, id: f.requestId(), ...queuePairEndpoint(f) };
    case 'qp-disconnected':
      return { type, id: f.requestId(), qpn: f.integer('qpn', 1, MAX_U24) };
    default:
      throw unknownType(type, SERVER_MESSAGE_TYPES);
  }
}

const MAX_U24 = 0xffffff;
const MTUS = [256, 512, 1024, 2048, 4096];

function queuePairEndpoint(f: Fields): QueuePairEndpoint {
  return {
    qpn: f.integer('qpn', 1, MAX_U24),
    psn: f.integer('psn', 0, MAX_U24),
    gid: f.matching('gid', /^[0-9a-f]{32}$/, '32 lowercase hex digits'),
    lid: f.integer('lid', 0, 0xffff),
    mtu: f.integerOneOf('mtu', MTUS),
  };
}

function parseDataEndpoint(data: Record<string, unknown>): DataEndpoint {
  const f = new Fields(data, 'welcome.data');
  const kind = f.oneOf('kind', ['tcp', 'unix', 'verbs'] as const);
  switch (kind) {
    case 'tcp':
      return { kind, host: f.string('host'), port: f.integer('port', 1, 65535) };
    case 'unix':
      return { kind, path: f.string('path') };
    case 'verbs':
      return {
        kind,
        device: f.string('device'),
        port: f.integer('port', 1, 255),
        // -1: InfiniBand, addressed by LID
        gidIndex: f.integer('gidIndex', -1, MAX_U32),
      };
  }
}

function asFrame(value: unknown, knownTypes: readonly string[]): Frame {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw protocolError(`a message must be a JSON object, got ${describeValue(value)}`);
  }
  const type = (value as Record<string, unknown>).type;
  if (typeof type !== 'string') throw protocolError(`a message's "type" is ${describeValue(type)}, not a string`);
  if (!knownTypes.includes(type)) throw unknownType(type, knownTypes);
  return value as Frame;
}

function unknownType(type: string, knownTypes: readonly string[]) {
  return protocolError(`unknown message type ${describeValue(type)}; expected one of ${knownTypes.join(', ')}`);
}

/** Reads typed fields of one JSON object; each failure names `<owner>.<field>`. */
class Fields {
  readonly #record: Readonly<Record<string, unknown>>;
  readonly #owner: string;

  constructor(record: Readonly<Record<string, unknown>>, owner: string) {
    this.#record = record;
    this.#owner = owner;
  }

  /** Own properties only: "__proto__" or "toString" in a frame are just names. */
  has(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.#record, name);
  }

  #get(name: string): unknown {
    return this.has(name) ? this.#record[name] : undefined;
  }

  #bad(name: string, expected: string): never {
    const value = this.#get(name);
    const got = value === undefined ? 'nothing' : describeValue(value);
    throw protocolError(`${this.#owner}.${name}: expected ${expected}, got ${got}`);
  }

  integer(name: string, min: number, max: number): number {
    const value = this.#get(name);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.#bad(name, `an integer in [${min}, ${max}]`);
    }
    return value;
  }

  integerOneOf(name: string, allowed: readonly number[]): number {
    const value = this.#get(name);
    if (typeof value !== 'number' || !allowed.includes(value)) this.#bad(name, `one of ${allowed.join(', ')}`);
    return value;
  }

  /** Request ids: the client's counter, echoed in the reply. */
  requestId(): number {
    return this.integer('id', 0, Number.MAX_SAFE_INTEGER);
  }

  string(name: string): string {
    const value = this.#get(name);
    if (typeof value !== 'string') this.#bad(name, 'a string');
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : undefined;
  }

  matching(name: string, pattern: RegExp, expected: string): string {
    const value = this.#get(name);
    if (typeof value !== 'string' || !pattern.test(value)) this.#bad(name, expected);
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const value = this.#get(name);
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.#bad(name, `one of ${allowed.join(', ')}`);
    }
    return value as T;
  }

  object(name: string): Record<string, unknown> {
    const value = this.#get(name);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.#bad(name, 'a JSON object');
    return value as Record<string, unknown>;
  }
}
