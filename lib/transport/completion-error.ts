/**
 * A failed data operation. Completions carry only a status number (no
 * allocation on the hot path); this turns one into an error that names the
 * operation, the address, the slab and the fix, when the caller wants one.
 *
 * Two kinds: a CompletionError for an errno status (any transport), and its
 * subclass WorkCompletionError for a verbs work request the device completed
 * with a failed ibv_wc_status (status WC_STATUS_BASE + that value).
 */
import * as os from 'node:os';
import { DmemError } from '../errors';
import { loadVerbs } from '../native/binding';
import { VerbsErrorCodes } from '../verbs/errors';
import { WC_STATUS_BASE } from './layout';

export class CompletionError extends DmemError {
  /** The status's symbolic name: 'EACCES', or 'IBV_WC_REM_ACCESS_ERR' for a WorkCompletionError. */
  readonly status: string;
  /** The errno value; 0 for a WorkCompletionError. */
  readonly errno: number;
  readonly address: number;
  readonly slab: number | undefined;

  constructor(
    message: string,
    status: string,
    errno: number,
    address: number,
    slab: number | undefined,
    code = 'ERR_DMEM_COMPLETION',
  ) {
    super(message, code);
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
  ECONNABORTED: 'an earlier operation on this verbs lane failed, which ends its connection; prepare a new lane',
};

/** A verbs work request completed with a failed status; `status` is the ibv_wc_status enum name. */
export class WorkCompletionError extends CompletionError {
  /** The ibv_wc_status value. */
  readonly wcStatus: number;
  /** ibv_wc_status_str's words for it. */
  readonly statusText: string;

  constructor(message: string, status: string, wcStatus: number, statusText: string, address: number, slab: number | undefined) {
    super(message, status, 0, address, slab, VerbsErrorCodes.workCompletion);
    this.name = 'WorkCompletionError';
    this.wcStatus = wcStatus;
    this.statusText = statusText;
  }
}

const WC_EXPLAIN: Record<string, string> = {
  IBV_WC_REM_ACCESS_ERR:
    "the memory node's device refused the access: the key (rkey) is not a live lease's (released, expired, or never leased), or the range is outside the slab it names",
  IBV_WC_REM_INV_REQ_ERR: 'the memory node refused the request as invalid (a length beyond its limits, or too many READs outstanding)',
  IBV_WC_REM_OP_ERR: 'the memory node could not carry the operation out',
  IBV_WC_RETRY_EXC_ERR: 'the memory node never acknowledged, through every retry: it is gone, or the link or GID is wrong',
  IBV_WC_RNR_RETRY_EXC_ERR: 'the memory node was not ready to receive, through every retry',
  IBV_WC_WR_FLUSH_ERR: 'flushed: an earlier operation on this lane failed (or the lane timed out), which ends its connection; prepare a new lane',
  IBV_WC_LOC_PROT_ERR: 'the staging range is not covered by the lane\'s registered staging buffer',
  IBV_WC_LOC_LEN_ERR: 'the length exceeds what the local device accepts',
  IBV_WC_LOC_QP_OP_ERR: 'the lane\'s queue pair rejected the operation (a device limit)',
};

function workCompletionError(
  kind: 'READ' | 'WRITE',
  wcStatus: number,
  address: number,
  length: number,
  where: string,
  slab: number | undefined,
): WorkCompletionError {
  let name = `IBV_WC_${wcStatus}`;
  let text = 'unknown work completion status';
  try {
    ({ name, text } = loadVerbs().workCompletionStatus(wcStatus));
  } catch {
    // dmem_verbs is not loadable: no verbs completion can come from here, but the number still says something.
  }
  const why = WC_EXPLAIN[name] ?? 'see ibv_poll_cq(3)';
  return new WorkCompletionError(
    `${kind} of ${length} bytes at ${where} failed: ${name} (${text}): ${why}`,
    name,
    wcStatus,
    text,
    address,
    slab,
  );
}

export function completionError(
  kind: 'READ' | 'WRITE',
  status: number,
  address: number,
  length: number,
  layout: { addressBase: number; slabSize: number } | undefined,
): CompletionError {
  let slab: number | undefined;
  if (layout !== undefined && address >= layout.addressBase) slab = Math.floor((address - layout.addressBase) / layout.slabSize);
  const where = `0x${address.toString(16)}${slab === undefined ? '' : ` (slab ${slab})`}`;
  if (status >= WC_STATUS_BASE) return workCompletionError(kind, status - WC_STATUS_BASE, address, length, where, slab);
  const name = errnoNames[status] ?? `E${status}`;
  const why = EXPLAIN[name] ?? 'see errno(3)';
  return new CompletionError(`${kind} of ${length} bytes at ${where} failed: ${name}: ${why}`, name, status, address, slab);
}
