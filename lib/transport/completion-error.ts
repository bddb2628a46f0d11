/**
 * A failed data operation. Completions carry only a status number (no
 * allocation on the hot path); this turns one into an error that names the
 * operation, the address, the slab and the fix, when the caller wants one.
 */
import * as os from 'node:os';
import { DmemError } from '../errors';

export class CompletionError extends DmemError {
  readonly status: string;
  readonly errno: number;
  readonly address: number;
  readonly slab: number | undefined;

  constructor(message: string, status: string, errno: number, address: number, slab: number | undefined) {
    super(message, 'ERR_DMEM_COMPLETION');
    this.name = 'CompletionError';
    this.status = status;
    this.errno = errno;
    this.address = address;
    this.slab = slab;
  }
}

// Node's table lacks a few Linux values that transports use.
const errnoNames: Record<number, string> = {
  ...Object.fromEntries(Object.entries(os.constants.errno).map(([name, value]) => [value, name])),
  129: 'EKEYREJECTED',
};

const EXPLAIN: Record<string, string> = {
  ERANGE: 'the range is outside every slab of the pool, or crosses a slab boundary',
  EACCES: 'the slab is not leased by this session (never leased, released, or expired)',
  EKEYREJECTED: "the key does not match the slab's lease",
  EINVAL: 'the operation is malformed (kind, length, or staging range)',
  ECONNRESET: 'the memory node is unreachable (it closed the connection or stopped answering heartbeats)',
  ETIMEDOUT: 'the memory node did not answer in time; the connection is closed',
  EPROTO: 'the memory node answered something this client cannot parse',
};

export function completionError(
  kind: 'READ' | 'WRITE',
  status: number,
  address: number,
  length: number,
  layout: { addressBase: number; slabSize: number } | undefined,
): CompletionError {
  const name = errnoNames[status] ?? `E${status}`;
  let slab: number | undefined;
  if (layout !== undefined && address >= layout.addressBase) slab = Math.floor((address - layout.addressBase) / layout.slabSize);
  const where = `0x${address.toString(16)}${slab === undefined ? '' : ` (slab ${slab})`}`;
  const why = EXPLAIN[name] ?? 'see errno(3)';
  return new CompletionError(`${kind} of ${length} bytes at ${where} failed: ${name}: ${why}`, name, status, address, slab);
}
