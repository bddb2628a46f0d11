/**
 * How this process may open a userfaultfd, decided by trying, in order:
 *   1. userfaultfd(2) with kernel faults (root, CAP_SYS_PTRACE, or
 *      vm.unprivileged_userfaultfd=1);
 *   2. /dev/userfaultfd (Linux 6.1; needs read-write access to the node);
 *   3. userfaultfd(2) with UFFD_USER_MODE_ONLY: works for anyone, but a fault
 *      taken inside the kernel (a read() into the region, say) fails with
 *      EFAULT instead of reaching the pager.
 * The first that works is kept for the life of the process.
 */
import { DmemError, ErrorCodes } from '../errors';
import { UffdOpenPath, loadCore } from '../native/binding';
import { decodeFeatures, type UffdFeatures } from './features';

export type UffdMode = 'full' | 'user-mode-only';

export interface UffdAccess {
  readonly mode: UffdMode;
  readonly path: UffdOpenPath;
  readonly userModeOnly: boolean;
  /** Raw feature bits the kernel offers on this path. */
  readonly featureBits: number;
  readonly features: UffdFeatures;
  /** A warning to show the user, or undefined. */
  readonly note: string | undefined;
}

export interface UffdAttempt {
  readonly path: UffdOpenPath;
  readonly userModeOnly: boolean;
  readonly describe: string;
}

export const UFFD_ATTEMPTS: readonly UffdAttempt[] = [
  { path: UffdOpenPath.Syscall, userModeOnly: false, describe: 'userfaultfd(2)' },
  { path: UffdOpenPath.DevNode, userModeOnly: false, describe: '/dev/userfaultfd' },
  { path: UffdOpenPath.Syscall, userModeOnly: true, describe: 'userfaultfd(2) with UFFD_USER_MODE_ONLY' },
];

export const USER_MODE_ONLY_NOTE =
  'userfaultfd is available in user-mode-only mode: faults taken inside the kernel (for example a read() or recv() into region memory) fail with EFAULT instead of being served. For full mode run as root or with CAP_SYS_PTRACE, or `sysctl -w vm.unprivileged_userfaultfd=1`, or grant read-write access to /dev/userfaultfd.';

export const REFUSED_FIXES = [
  'run as root or with CAP_SYS_PTRACE',
  'sysctl -w vm.unprivileged_userfaultfd=1',
  'grant this user read-write access to /dev/userfaultfd (e.g. a udev rule or `setfacl -m u:$USER:rw /dev/userfaultfd`)',
];

/** A prober tries one attempt: it returns the offered feature bits or throws. */
export type UffdProber = (attempt: UffdAttempt) => { features: number };

interface Failure {
  attempt: UffdAttempt;
  error: Error & { code?: string };
}

export function refusalError(failures: readonly Failure[]): DmemError {
  const tried = failures.map((f) => `${f.attempt.describe}: ${f.error.code ?? ''} ${f.error.message}`.trim());
  const message =
    `userfaultfd is refused to this process, so dmem cannot serve page faults. Tried ${tried.join('; ')}. ` +
    `Fix one of: (1) ${REFUSED_FIXES[0]}; (2) ${REFUSED_FIXES[1]}; (3) ${REFUSED_FIXES[2]}. ` +
    'userfaultfd also needs a kernel built with CONFIG_USERFAULTFD (Linux >= 5.19 for shmem minor faults).';
  const error = new DmemError(message, ErrorCodes.uffdRefused);
  (error as DmemError & { attempts?: string[] }).attempts = tried;
  return error;
}

/** Tries each attempt with `probe`; pure apart from `probe`, so tests can inject refusal. */
export function resolveUffdAccess(probe: UffdProber, pagemapScan: boolean): UffdAccess {
  const failures: Failure[] = [];
  const constants = loadCore().constants;
  for (const attempt of UFFD_ATTEMPTS) {
    try {
      const { features } = probe(attempt);
      return {
        mode: attempt.userModeOnly ? 'user-mode-only' : 'full',
        path: attempt.path,
        userModeOnly: attempt.userModeOnly,
        featureBits: features,
        features: decodeFeatures(features, constants, pagemapScan),
        note: attempt.userModeOnly ? USER_MODE_ONLY_NOTE : undefined,
      };
    } catch (error) {
      failures.push({ attempt, error: error as Error });
    }
  }
  throw refusalError(failures);
}

let cached: UffdAccess | undefined;

/** The access this process has, probed once and remembered. Throws ERR_DMEM_UFFD_REFUSED. */
export function uffdAccess(): UffdAccess {
  if (cached === undefined) {
    const core = loadCore();
    cached = resolveUffdAccess((a) => core.probeUffd(a.path, a.userModeOnly), core.pagemapScanAvailable());
  }
  return cached;
}
