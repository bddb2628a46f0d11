/**
 * `dmem bench --report FILE.html`: one self-contained page (inline SVG, no
 * scripts, no network) showing slowdown per workload and policy, the block
 * sizes the elastic policy chose over time for `phases`, and vCPU scaling.
 */
import { POLICIES, type BlockSample, type SuiteReport } from './suite';
import { headline, percent } from './table';

const COLORS: Record<string, string> = { '4k': '#9ecae1', '16k': '#4292c6', '64k': '#08519c', elastic: '#e6550d' };
const BLOCK_COLORS = ['#fee6ce', '#fdd0a2', '#fdae6b', '#fd8d3c', '#f16913', '#d94801', '#8c2d04'];

function esc(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** Grouped bars on a log scale (slowdowns span 1% to 100x): one group per workload. */
function slowdownChart(report: SuiteReport): string {
  const groups: Array<{ label: string; kind: string; values: number[] }> = [...report.workloads.map((w) => ({ label: w.name, kind: w.kind as string, values: POLICIES.map((p) => w.policies.find((x) => x.policy === p)!.slowdown) }))];
  const avg = report.summary.suiteAverageSlowdown;
  const cloud = report.summary.cloudAverageSlowdown;
  groups.push({ label: 'average*', kind: 'no gups', values: POLICIES.map((p) => avg[p]) });
  if (cloud !== null) groups.push({ label: 'cloud avg', kind: 'the 6% case', values: POLICIES.map((p) => cloud[p]) });
  const width = 80 + groups.length * 84, height = 320, top = 20, bottom = 250;
  // y = log10(1 + slowdown): 0 = as fast as local-only.
  const maxLog = Math.max(0.5, ...groups.flatMap((g) => g.values.map((v) => Math.log10(1 + Math.max(0, v)))));
  const y = (v: number): number => bottom - (Math.log10(1 + Math.max(0, v)) / maxLog) * (bottom - top);
  const parts: string[] = [];
  let lastTickY = Infinity;
  for (const tick of [0, 0.06, 0.25, 1, 4, 9, 24, 99, 999]) {
    if (Math.log10(1 + tick) > maxLog) continue;
    if (lastTickY - y(tick) < 14) continue; // labels closer than a line of text would overlap
    lastTickY = y(tick);
    parts.push(`<line x1="60" x2="${width - 10}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/><text x="55" y="${y(tick) + 4}" text-anchor="end" font-size="11">${percent(tick)}</text>`);
  }
  groups.forEach((g, i) => {
    const x0 = 70 + i * 84;
    g.values.forEach((v, j) => {
      const yy = y(v);
      parts.push(`<rect x="${x0 + j * 18}" y="${yy}" width="16" height="${bottom - yy}" fill="${COLORS[POLICIES[j]]}"><title>${esc(g.label)} ${POLICIES[j]}: ${percent(v)}</title></rect>`);
    });
    parts.push(`<text x="${x0 + 36}" y="${bottom + 16}" text-anchor="middle" font-size="12">${esc(g.label)}</text>`);
    parts.push(`<text x="${x0 + 36}" y="${bottom + 30}" text-anchor="middle" font-size="10" fill="#666">${esc(g.kind)}</text>`);
  });
  const legend = POLICIES.map((p, j) => `<rect x="${70 + j * 90}" y="${bottom + 45}" width="12" height="12" fill="${COLORS[p]}"/><text x="${86 + j * 90}" y="${bottom + 55}" font-size="12">${p}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" style="width:100%;max-width:${width}px" font-family="sans-serif">${parts.join('')}${legend}</svg>`;
}

/** Stacked area of chunks per block size over the measured phase of `phases`. */
function blockTimelineChart(samples: BlockSample[]): string {
  const width = 640, height = 260, left = 60, right = 520, top = 20, bottom = 210;
  if (samples.length === 0) return '<p>no samples (the measured phase was shorter than one sampling period)</p>';
  const sizes = [...new Set(samples.flatMap((s) => Object.keys(s.blockSizes)))].sort((a, b) => parseInt(a) - parseInt(b));
  const t0 = samples[0].tMs, t1 = Math.max(t0 + 1, samples[samples.length - 1].tMs);
  const totals = samples.map((s) => sizes.reduce((a, k) => a + (s.blockSizes[k] ?? 0), 0));
  const maxTotal = Math.max(1, ...totals);
  const x = (t: number): number => left + ((t - t0) / (t1 - t0)) * (right - left);
  const y = (n: number): number => bottom - (n / maxTotal) * (bottom - top);
  const parts: string[] = [];
  const base = samples.map(() => 0);
  sizes.forEach((size, k) => {
    const upper = samples.map((s, i) => base[i] + (s.blockSizes[size] ?? 0));
    const points = [...samples.map((s, i) => `${x(s.tMs)},${y(upper[i])}`), ...samples.map((s, i) => `${x(s.tMs)},${y(base[i])}`).reverse()];
    parts.push(`<polygon points="${points.join(' ')}" fill="${BLOCK_COLORS[k % BLOCK_COLORS.length]}" stroke="#fff" stroke-width="0.5"><title>${size}</title></polygon>`);
    upper.forEach((u, i) => (base[i] = u));
    parts.push(`<rect x="${right + 20}" y="${top + k * 18}" width="12" height="12" fill="${BLOCK_COLORS[k % BLOCK_COLORS.length]}"/><text x="${right + 36}" y="${top + k * 18 + 10}" font-size="12">${size}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/><line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#333"/>`);
  parts.push(`<text x="${left}" y="${bottom + 16}" font-size="11">${t0} ms</text><text x="${right}" y="${bottom + 16}" font-size="11" text-anchor="end">${t1} ms</text>`);
  parts.push(`<text x="${left - 6}" y="${top + 4}" font-size="11" text-anchor="end">${maxTotal}</text><text x="${left - 6}" y="${bottom}" font-size="11" text-anchor="end">0</text>`);
  parts.push(`<text x="${(left + right) / 2}" y="${bottom + 34}" font-size="12" text-anchor="middle">time since the region was created (measured phase); chunks (2 MiB) per block size</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** Throughput against vCPUs, local-only and on the region. */
function scalingChart(report: SuiteReport): string {
  const s = report.scaling;
  if (s === undefined) return '<p>vCPU scaling was not run (one vCPU).</p>';
  const width = 520, height = 260, left = 80, right = 400, top = 20, bottom = 210;
  const maxOps = Math.max(1, ...s.points.flatMap((p) => [p.localOpsPerSec, p.regionOpsPerSec]));
  const maxV = Math.max(2, ...s.points.map((p) => p.vcpus));
  const x = (v: number): number => left + ((v - 1) / (maxV - 1)) * (right - left);
  const y = (ops: number): number => bottom - (ops / maxOps) * (bottom - top);
  const line = (key: 'localOpsPerSec' | 'regionOpsPerSec', color: string): string =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${s.points.map((p) => `${x(p.vcpus)},${y(p[key])}`).join(' ')}"/>` +
    s.points.map((p) => `<circle cx="${x(p.vcpus)}" cy="${y(p[key])}" r="4" fill="${color}"><title>${p.vcpus} vCPU: ${p[key]} ops/s</title></circle>`).join('');
  const ticks = s.points.map((p) => `<text x="${x(p.vcpus)}" y="${bottom + 16}" font-size="11" text-anchor="middle">${p.vcpus}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/><line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#333"/>
<text x="${left - 6}" y="${top + 4}" font-size="11" text-anchor="end">${maxOps}</text><text x="${left - 6}" y="${bottom}" font-size="11" text-anchor="end">0</text>
${ticks}<text x="${(left + right) / 2}" y="${bottom + 34}" font-size="12" text-anchor="middle">vCPUs (${esc(s.workload)}, ops/s)</text>
${line('localOpsPerSec', '#31a354')}${line('regionOpsPerSec', COLORS.elastic)}
<rect x="${right + 15}" y="${top}" width="12" height="12" fill="#31a354"/><text x="${right + 31}" y="${top + 10}" font-size="12">local-only</text>
<rect x="${right + 15}" y="${top + 18}" width="12" height="12" fill="${COLORS.elastic}"/><text x="${right + 31}" y="${top + 28}" font-size="12">region (${s.policy})</text>
</svg>`;
}

function table(report: SuiteReport): string {
  const head = `<tr><th>workload</th><th>kind</th><th>footprint</th><th>local ms</th><th>GB/s touched</th>${POLICIES.map((p) => `<th>${p}</th>`).join('')}<th>elastic time / best fixed</th><th>elastic blocks chosen</th><th>elastic faults/s</th><th>MiB in / out</th></tr>`;
  const rows = report.workloads.map((w) => {
    const el = w.policies.find((p) => p.policy === 'elastic')!;
    const cells = POLICIES.map((p) => {
      const v = w.policies.find((x) => x.policy === p)!.slowdown;
      return `<td class="${p === w.bestFixed ? 'best' : ''}">${percent(v)}</td>`;
    }).join('');
    const blocks = Object.entries(el.pager.blockSizes).map(([k, n]) => `${k}:${n}`).join(' ');
    return `<tr><td>${esc(w.name)}</td><td>${w.kind}</td><td>${Math.round(w.footprintBytes / 2 ** 20)} MiB</td><td>${w.local.measuredMs.toFixed(1)}</td><td>${(w.local.bytesTouchedPerSec / 1e9).toFixed(1)}</td>${cells}<td>${w.elasticTimeRatio.toFixed(2)}x${w.elasticTimeRatioRange[0] < w.elasticTimeRatioRange[1] ? ` <small>(${w.elasticTimeRatioRange[0].toFixed(2)}–${w.elasticTimeRatioRange[1].toFixed(2)})</small>` : ''}</td><td>${blocks}</td><td>${el.pager.faultsPerSec}</td><td>${el.pager.mibFetched} / ${el.pager.mibWrittenBack}</td></tr>`;
  });
  return `<table>${head}${rows.join('')}</table>`;
}

export function renderHtmlReport(report: SuiteReport): string {
  const phases = report.workloads.find((w) => w.blockTimeline !== undefined);
  const s = report.summary;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>dmem bench</title>
<style>body{font-family:sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}td:first-child,th:first-child{text-align:left}.best{font-weight:bold}.headline{font-size:17px;background:#fff5eb;padding:10px;border-left:4px solid #e6550d}</style>
</head><body>
<h1>dmem bench</h1>
<p class="headline">${esc(headline(report))}</p>
<p>Local memory = ${Math.round(s.localRatio * 100)}% of each workload's footprint; transport ${esc(s.transport)}; ${report.machine.cpus} CPUs, kernel ${esc(report.machine.kernel)}, Node ${esc(report.machine.node)}; pager lanes at ${report.machine.laneNice === null ? "the process's priority" : `nice ${report.machine.laneNice}`}; ${report.durationSec} s. Slowdown = measured phase on the region / the same code on plain memory − 1. Every run verified its result: ${s.allVerified ? 'yes' : '<b>NO</b>'}.</p>
<h2>Slowdown per workload and block policy</h2>
<p>Log scale. <i>cloud</i>: hot set fits in half the footprint (the paper's 6% case); <i>kernel</i>: memory-bound, compare with DESIGN.md's floor; <i>adversarial</i>: gups, left out of the averages. average* = suite average without gups.</p>
${slowdownChart(report)}
${table(report)}
<h2>Block size per chunk over time: phases, elastic</h2>
${phases === undefined ? '<p>phases was not run.</p>' : blockTimelineChart(phases.blockTimeline!)}
<h2>vCPU scaling</h2>
${scalingChart(report)}
</body></html>
`;
}
