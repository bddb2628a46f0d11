/** The text tables and the closing headline of `dmem bench`. */
import { FIXED_POLICIES, POLICIES, type Policy, type SuiteReport } from './suite';

export function percent(fraction: number): string {
  const p = fraction * 100;
  const text = Math.abs(p) >= 100 ? p.toFixed(0) : p.toFixed(1);
  return `${p >= 0 ? '+' : ''}${text}%`;
}

function row(cells: Array<[string, number]>): string {
  return cells.map(([text, width]) => (width < 0 ? text.padEnd(-width) : text.padStart(width))).join(' ');
}

export function blocksChosen(blockSizes: Record<string, number>): string {
  return Object.entries(blockSizes)
    .filter(([, n]) => n > 0)
    .map(([size, n]) => `${size}:${n}`)
    .join(' ');
}

export function renderSuiteTable(report: SuiteReport): string[] {
  const s = report.summary;
  const lines: string[] = [];
  lines.push(`slowdown against local-only, local memory = ${Math.round(s.localRatio * 100)}% of the footprint, transport ${s.transport}`);
  const head: Array<[string, number]> = [['workload', -10], ['kind', -12], ['footprint', 9], ['local ms', 9], ['GB/s', 6], ['kpg/s', 7]];
  lines.push(row([...head, ...POLICIES.map((p): [string, number] => [p, 8]), ['el/best', 8]]));
  for (const w of report.workloads) {
    lines.push(
      row([
        [w.name, -10],
        [w.kind, -12],
        [`${Math.round(w.footprintBytes / 2 ** 20)}M`, 9],
        [w.local.measuredMs.toFixed(1), 9],
        [(w.local.bytesTouchedPerSec / 1e9).toFixed(1), 6],
        [(w.local.distinctPagesPerSec / 1e3).toFixed(0), 7],
        ...POLICIES.map((p): [string, number] => [percent(w.policies.find((x) => x.policy === p)!.slowdown), 8]),
        [`${w.elasticTimeRatio.toFixed(2)}x`, 8],
      ]),
    );
  }
  const average = (label: string, values: Record<Policy, number> | null): void => {
    if (values === null) return;
    lines.push(row([[label, -58], ...POLICIES.map((p): [string, number] => [percent(values[p]), 8])]));
  };
  average('suite average (gups excluded)', s.suiteAverageSlowdown);
  average('cloud-shaped VMs (the paper\'s 6% case)', s.cloudAverageSlowdown);
  average('memory-bound kernels (see the DESIGN floor)', s.kernelAverageSlowdown);
  lines.push('');
  lines.push('pager during the measured phase');
  lines.push(row([['workload', -10], ['block', -8], ['faults/s', 9], ['MiB in', 8], ['MiB out', 8], ['pf hit', 7], ['svc us', 7], ['zaps', 7], ['  blocks chosen (2 MiB chunks)', -30]]));
  for (const w of report.workloads) {
    for (const p of w.policies) {
      const f = p.pager;
      lines.push(
        row([
          [w.name, -10],
          [p.policy, -8],
          [String(f.faultsPerSec), 9],
          [f.mibFetched.toFixed(1), 8],
          [f.mibWrittenBack.toFixed(1), 8],
          [f.prefetchHitRate === null ? '-' : `${Math.round(f.prefetchHitRate * 100)}%`, 7],
          [f.meanServiceUs.toFixed(0), 7],
          [String(f.zapCalls), 7],
          [`  ${blocksChosen(f.blockSizes)}`, -30],
        ]),
      );
    }
  }
  if (report.scaling !== undefined) {
    lines.push('');
    lines.push(`vCPU scaling: ${report.scaling.workload}, ${report.scaling.policy} blocks`);
    lines.push(row([['vCPUs', -6], ['local ops/s', 12], ['region ops/s', 13], ['slowdown', 9]]));
    for (const p of report.scaling.points) {
      lines.push(row([[String(p.vcpus), -6], [String(p.localOpsPerSec), 12], [String(p.regionOpsPerSec), 13], [percent(p.slowdown), 9]]));
    }
  }
  lines.push('');
  lines.push(headline(report));
  return lines;
}

export function headline(report: SuiteReport): string {
  const s = report.summary;
  const avg = s.suiteAverageSlowdown;
  const best = FIXED_POLICIES.reduce((a, b) => (avg[b] < avg[a] ? b : a));
  const verdict = avg.elastic <= avg[best] ? 'elastic wins' : 'best fixed wins';
  const cloud = s.cloudAverageSlowdown === null ? '' : `; cloud-shaped VMs: elastic ${percent(s.cloudAverageSlowdown.elastic)} (paper: +6%)`;
  const worst = s.worstElasticTimeRatio === null ? '' : `; per workload, elastic's time at most ${s.worstElasticTimeRatio.ratio.toFixed(2)}x the best fixed block's (${s.worstElasticTimeRatio.workload})`;
  return `headline: at ${Math.round(s.localRatio * 100)}% local (${s.transport}), suite average slowdown (gups excluded): elastic ${percent(avg.elastic)} vs best fixed (${best}) ${percent(avg[best])}, ${verdict}${cloud}${worst}`;
}
