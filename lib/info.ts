/**
 * What this machine offers dmem: the first thing a new user runs (`dmem info`).
 * Every probe is read-only and never throws: what cannot be had is reported
 * with the reason and the fix.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { featureList } from './uffd/features';
import { uffdAccess } from './uffd/open';
import { loadVerbs, VERBS_INSTALL_HINT, type VerbsDevice } from './native/binding';

export interface UffdInfo {
  available: boolean;
  mode: 'full' | 'user-mode-only' | 'refused';
  features: string[];
  note?: string;
  error?: string;
}

export interface VerbsInfo {
  built: boolean;
  devices: VerbsDevice[];
  /** Why there are no devices, with the fix. */
  reason?: string;
}

export interface Limit {
  soft: number | 'unlimited';
  hard: number | 'unlimited';
}

export interface DmemInfo {
  version: string;
  kernel: { release: string; version: string; supported: boolean };
  cpus: number;
  memory: { totalBytes: number; availableBytes: number };
  uffd: UffdInfo;
  verbs: VerbsInfo;
  memlock: Limit | null;
  hugepages: {
    pageSizeBytes: number;
    total: number;
    free: number;
    transparent: string | null;
    shmemTransparent: string | null;
  };
}

export function collectInfo(): DmemInfo {
  const release = os.release();
  return {
    version: packageVersion(),
    kernel: { release, version: os.version(), supported: kernelAtLeast(release, 5, 19) },
    cpus: os.availableParallelism(),
    memory: { totalBytes: os.totalmem(), availableBytes: meminfo('MemAvailable') * 1024 },
    uffd: probeUffd(),
    verbs: probeVerbs(),
    memlock: readLimit('Max locked memory'),
    hugepages: {
      pageSizeBytes: meminfo('Hugepagesize') * 1024,
      total: meminfo('HugePages_Total'),
      free: meminfo('HugePages_Free'),
      transparent: selected('/sys/kernel/mm/transparent_hugepage/enabled'),
      shmemTransparent: selected('/sys/kernel/mm/transparent_hugepage/shmem_enabled'),
    },
  };
}

function probeUffd(): UffdInfo {
  try {
    const access = uffdAccess();
    const info: UffdInfo = { available: true, mode: access.mode, features: featureList(access.features) };
    if (access.note !== undefined) info.note = access.note;
    return info;
  } catch (error) {
    return { available: false, mode: 'refused', features: [], error: (error as Error).message };
  }
}

function probeVerbs(): VerbsInfo {
  let verbs;
  try {
    verbs = loadVerbs();
  } catch {
    return { built: false, devices: [], reason: `verbs not built: ${VERBS_INSTALL_HINT}` };
  }
  try {
    const devices = verbs.listDevices();
    if (devices.length === 0) {
      return {
        built: true,
        devices,
        reason: 'no RDMA device: attach one, or create a soft-RoCE device (`rdma link add rxe0 type rxe netdev eth0`)',
      };
    }
    return { built: true, devices };
  } catch (error) {
    const e = error as Error & { code?: string };
    const reason =
      e.code === 'ENOSYS'
        ? 'this kernel has no RDMA support (ibv_get_device_list: ENOSYS): boot a kernel with RDMA support (rdma_rxe gives soft-RoCE) or use real RDMA hardware'
        : `listing RDMA devices failed: ${e.message}`;
    return { built: true, devices: [], reason };
  }
}

export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (m === null) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

function readText(path: string): string | null {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function meminfo(key: string): number {
  const text = readText('/proc/meminfo') ?? '';
  const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** The bracketed choice of a sysfs setting such as "always [madvise] never". */
function selected(path: string): string | null {
  const text = readText(path);
  if (text === null) return null;
  const m = /\[([^\]]+)\]/.exec(text);
  return m === null ? text.trim() : m[1];
}

function readLimit(name: string): Limit | null {
  const text = readText('/proc/self/limits');
  if (text === null) return null;
  const line = text.split('\n').find((l) => l.startsWith(name));
  if (line === undefined) return null;
  const fields = line.slice(name.length).trim().split(/\s+/);
  const value = (s: string): number | 'unlimited' => (s === 'unlimited' ? 'unlimited' : Number(s));
  return { soft: value(fields[0]), hard: value(fields[1]) };
}

function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(`${__dirname}/../package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
