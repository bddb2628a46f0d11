/**
 * Whether a real RDMA device is here (inside the soft-RoCE guest, or on RDMA
 * hardware), and which: scripts/softroce/run.sh sets DMEM_RDMA_DEVICE,
 * DMEM_RDMA_GID_INDEX (the RoCE v2 GID of 10.99.0.1, found by value) and
 * DMEM_RDMA_PORT. Anywhere else the verbs tests skip, and say why.
 */
import { loadVerbs, type VerbsDevice } from '../../dist/native/binding.js';

export interface RdmaTarget {
  device: string;
  port: number;
  /** Set by run.sh; otherwise the library finds the GID by value. */
  gidIndex: number | undefined;
  info: VerbsDevice;
}

const HINT = 'run scripts/softroce/run.sh';

/** The device to test on, or why there is none. */
export function findRdma(): { target?: RdmaTarget; reason?: string } {
  let devices: VerbsDevice[];
  try {
    devices = loadVerbs().listDevices();
  } catch (error) {
    const e = error as Error & { code?: string };
    if (e.code === 'ERR_DMEM_VERBS_NOT_BUILT') return { reason: `dmem_verbs is not built (install libibverbs-dev; ${HINT})` };
    return { reason: `no RDMA device (${e.code === 'ENOSYS' ? 'this kernel has no RDMA support; ' : `${e.message}; `}${HINT})` };
  }
  const wanted = process.env.DMEM_RDMA_DEVICE;
  const port = Number(process.env.DMEM_RDMA_PORT ?? 1);
  const info = devices.find((d) => (wanted === undefined || d.name === wanted) && d.ports.some((p) => p.port === port && /active/i.test(p.state)));
  if (info === undefined) return { reason: `no RDMA device${wanted === undefined ? '' : ` named ${wanted}`} with an active port ${port} (${HINT})` };
  const gid = process.env.DMEM_RDMA_GID_INDEX;
  return { target: { device: info.name, port, gidIndex: gid === undefined || gid === '' ? undefined : Number(gid), info } };
}

export function printSkip(reason: string | undefined, what: string): void {
  if (reason !== undefined) console.warn(`SKIP ${what}: ${reason}`);
}
