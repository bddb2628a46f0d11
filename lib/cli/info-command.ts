import { collectInfo, type DmemInfo } from '../info';
import { formatBytes } from '../util/size';

export function runInfo(json: boolean, out: (line: string) => void): number {
  const info = collectInfo();
  if (json) {
    out(JSON.stringify(info, null, 2));
  } else {
    for (const line of renderInfo(info)) out(line);
  }
  return info.uffd.available ? 0 : 1;
}

export function renderInfo(info: DmemInfo): string[] {
  const lines: string[] = [];
  const kernelNote = info.kernel.supported ? '' : '  (dmem needs Linux >= 5.19)';
  lines.push(`dmem ${info.version}`);
  lines.push(`kernel       ${info.kernel.release}${kernelNote}`);
  lines.push(`cpus         ${info.cpus}`);
  lines.push(`memory       ${formatBytes(info.memory.totalBytes)} total, ${formatBytes(info.memory.availableBytes)} available`);
  if (info.uffd.available) {
    lines.push(`userfaultfd  ${info.uffd.mode}`);
    lines.push(`  features   ${info.uffd.features.join(' ')}`);
    if (info.uffd.note !== undefined) lines.push(`  note       ${info.uffd.note}`);
  } else {
    lines.push('userfaultfd  refused');
    lines.push(`  ${info.uffd.error ?? ''}`);
  }
  if (info.verbs.devices.length > 0) {
    lines.push(`rdma         ${info.verbs.devices.length} device(s)`);
    for (const d of info.verbs.devices) {
      for (const p of d.ports) {
        const roce = p.gids.filter((g) => g.type === 'RoCEv2').map((g) => `${g.index}:${g.gid}`);
        lines.push(`  ${d.name} port ${p.port}  ${p.state} ${p.linkLayer} mtu ${p.activeMtu}${roce.length ? `  RoCEv2 ${roce.join(' ')}` : ''}`);
      }
    }
  } else {
    lines.push(`rdma         none: ${info.verbs.reason ?? ''}`);
  }
  const lim = info.memlock;
  const fmt = (v: number | 'unlimited'): string => (v === 'unlimited' ? 'unlimited' : formatBytes(v));
  lines.push(`memlock      ${lim === null ? 'unknown' : `${fmt(lim.soft)} (hard ${fmt(lim.hard)})`}`);
  const h = info.hugepages;
  lines.push(
    `hugepages    ${h.total} x ${formatBytes(h.pageSizeBytes)} (${h.free} free); THP ${h.transparent ?? 'n/a'}, shmem THP ${h.shmemTransparent ?? 'n/a'}`,
  );
  return lines;
}
