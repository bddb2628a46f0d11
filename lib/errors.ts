/**
 * Error classes of dmem. Native code receives these constructors at start-up
 * (see native/binding.ts) so that every failure, native or TypeScript, has one
 * of two shapes:
 *
 * - SystemError: Node's shape for failed system calls: `code` ('EPERM'),
 *   `errno` (negative, as Node's own), `syscall`, and a message that names the
 *   operation, its arguments and the fix.
 * - DmemError: dmem's own conditions, with an `ERR_DMEM_*` code.
 *
 * docs/ERRORS.md lists every code.
 */

export class DmemError extends Error {
  readonly code: string;

  constructor(message: string, code: string) {
    super(message);
    this.name = 'DmemError';
    this.code = code;
  }
}

export class SystemError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;

  constructor(message: string, code: string, errno: number, syscall: string) {
    super(`${code}: ${message}`);
    this.name = 'SystemError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

/** A bad option or argument, named with the range it accepts. */
export class OptionError extends DmemError {
  readonly option: string;

  constructor(option: string, message: string) {
    super(`${option}: ${message}`, 'ERR_DMEM_INVALID_OPTION');
    this.name = 'OptionError';
    this.option = option;
  }
}

export const ErrorCodes = {
  closed: 'ERR_DMEM_CLOSED',
  invalidOption: 'ERR_DMEM_INVALID_OPTION',
  uffdRefused: 'ERR_DMEM_UFFD_REFUSED',
  uffdFeature: 'ERR_DMEM_UFFD_FEATURE',
  verbsNotBuilt: 'ERR_DMEM_VERBS_NOT_BUILT',
  protocol: 'ERR_DMEM_PROTOCOL',
  auth: 'ERR_DMEM_AUTH',
  version: 'ERR_DMEM_VERSION',
  poolExhausted: 'ERR_DMEM_POOL_EXHAUSTED',
  unknownSlab: 'ERR_DMEM_UNKNOWN_SLAB',
  nodeLost: 'ERR_DMEM_NODE_LOST',
} as const;
