/**
 * The bench suite's workloads verify themselves on plain memory and on a real
 * dmem region (real userfaultfd faults served by real pager lanes), bad
 * options fail before anything starts, and `dmem bench` writes the summary.
 * Small footprints; nothing here asserts on time.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegion } from '../../dist/region/region';
import { loadWorkloads } from '../../dist/bench/suite/native';
import { runOnVcpus } from '../../dist/bench/suite/vcpu-runner';
import { WORKLOADS, WORKLOAD_NAMES } from '../../dist/bench/suite/workloads';
import { planBenchSuite } from '../../dist/cli/bench-suite-command';

const FOOTPRINT = 8 * 2 ** 20;
const BIN = path.resolve(__dirname, '..', '..', 'bin', 'dmem.js');

describe('bench workloads', () => {
  it('every workload the registry names exists natively', () => {
    expect([...loadWorkloads().workloadNames()].sort()).toEqual([...WORKLOAD_NAMES].sort());
  });

  for (const spec of WORKLOADS) {
    it(`${spec.name} verifies on plain memory with 2 vCPUs`, async () => {
      const native = loadWorkloads();
      const plain = native.allocatePlain(FOOTPRINT);
      try {
        const run = await runOnVcpus(spec.name, plain.address, FOOTPRINT, 2, spec.params(FOOTPRINT, true), 7);
        expect(run.message).toBe('');
        expect(run.ok).toBe(true);
        expect(run.opsDone).toBeGreaterThan(0);
      } finally {
        native.freePlain(plain.buffer);
      }
    });

    it(`${spec.name} verifies on a region with half its footprint local`, async () => {
      const region = await createRegion({ size: FOOTPRINT, localBytes: FOOTPRINT / 2, block: 'elastic', lanes: 2 });
      try {
        const run = await runOnVcpus(spec.name, region.address, FOOTPRINT, 2, spec.params(FOOTPRINT, true), 7);
        expect(run.message).toBe('');
        expect(run.ok).toBe(true);
        expect(region.failure).toBeUndefined();
        const stats = region.stats();
        expect(stats.faults.missing + stats.faults.minor).toBeGreaterThan(0);
      } finally {
        await region.close();
      }
    });
  }

  it('the measured phase waits for the coordinator to sample it at both ends (the pager figures split exactly)', async () => {
    // A measured phase far shorter than the coordinator's polling period:
    // without the wait, stage 2 would pass unseen between two polls.
    const native = loadWorkloads();
    const plain = native.allocatePlain(FOOTPRINT);
    try {
      const seen: number[] = [];
      const run = await runOnVcpus('gups', plain.address, FOOTPRINT, 2, { updates: 64 }, 7, undefined, (stage) => {
        if (seen[seen.length - 1] !== stage) seen.push(stage);
      });
      expect(run.ok).toBe(true);
      expect(seen).toContain(2);
      expect(seen.indexOf(3)).toBeGreaterThan(seen.indexOf(2));
    } finally {
      native.freePlain(plain.buffer);
    }
  });

  it('the native entry point refuses an unknown workload', () => {
    const native = loadWorkloads();
    const plain = native.allocatePlain(FOOTPRINT);
    try {
      expect(() => native.runWorkload('nope', plain.address, FOOTPRINT, 0, 1, 1, {}, new Int32Array(new SharedArrayBuffer(1024)))).toThrow(/unknown workload nope/);
    } finally {
      native.freePlain(plain.buffer);
    }
  });
});

describe('dmem bench options', () => {
  it('refuses a local ratio outside (0, 1)', () => {
    expect(() => planBenchSuite(['--local-ratio', '1.5'])).toThrow(/local-ratio: expected a fraction strictly between 0 and 1/);
    expect(() => planBenchSuite(['--local-ratio', '0'])).toThrow(/local-ratio/);
    expect(() => planBenchSuite(['--local-ratio', 'half'])).toThrow(/local-ratio/);
  });

  it('refuses an unknown workload and lists the valid ones', () => {
    expect(() => planBenchSuite(['--workloads', 'kvcache,nosuch'])).toThrow(/unknown workload "nosuch"; valid: kvcache, heap, db, stream/);
  });

  it('takes verbs with its device and GID index, and refuses RDMA flags without verbs', () => {
    const plan = planBenchSuite(['--transport', 'verbs', '-d', 'rxe0', '-x', '3', '--quick']);
    expect(plan).toMatchObject({ transport: 'verbs', rdma: { device: 'rxe0', gidIndex: 3 } });
    expect(() => planBenchSuite(['--ib-dev', 'rxe0'])).toThrow(/ib-dev: .* add --transport verbs/);
    expect(() => planBenchSuite(['--transport', 'verbs', '--gid-index', 'x'])).toThrow(/gid-index: expected an integer/);
    expect(() => planBenchSuite(['--transport', 'ib'])).toThrow(/transport: expected shm, tcp, file or verbs/);
  });

  it('refuses a footprint larger than the machine can back', () => {
    expect(() => planBenchSuite(['--footprint', '64T'])).toThrow(/footprint: a footprint of .* needs about .* but only .* is available/);
  });

  it('repeats 3 times and more for short workloads, or exactly --repeat times', () => {
    expect(planBenchSuite([])).toMatchObject({ repeat: 3, moreRepeats: { max: 9, withinMs: 60_000 } });
    expect(planBenchSuite(['--quick'])).toMatchObject({ repeat: 3, moreRepeats: { max: 9, withinMs: 15_000 } });
    const exact = planBenchSuite(['--quick', '--repeat', '5']);
    expect(exact).toMatchObject({ repeat: 5 });
    expect(exact).not.toHaveProperty('moreRepeats.max');
    expect(() => planBenchSuite(['--repeat', '0'])).toThrow(/repeat: expected an integer from 1 to 99/);
  });

  it('refuses a bad vCPU count and transport', () => {
    expect(() => planBenchSuite(['--vcpus', '0'])).toThrow(/vcpus: expected an integer from 1 to 64/);
    expect(() => planBenchSuite(['--transport', 'carrier-pigeon'])).toThrow(/transport: expected shm, tcp, file or verbs/);
  });

  it('the command line exits 2 with the message before starting anything', () => {
    const r = spawnSync(process.execPath, [BIN, 'bench', '--local-ratio', '1.5'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/local-ratio: expected a fraction strictly between 0 and 1/);
    expect(r.stderr).not.toMatch(/\[1\//);
  });
});

describe('dmem bench --quick --json', () => {
  it('writes every figure and the summary', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmem-bench-test-'));
    try {
      const json = path.join(dir, 'bench.json');
      const html = path.join(dir, 'bench.html');
      const r = spawnSync(process.execPath, [BIN, 'bench', '--quick', '--workloads', 'kvcache,sort', '--footprint', '8M', '--vcpus', '2', '--json', json, '--report', html], {
        encoding: 'utf8',
        timeout: 240_000,
      });
      expect(r.stderr).not.toMatch(/verification failed/);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^headline: at 50% local \(shm\), suite average slowdown \(gups excluded\): elastic/m);
      const report = JSON.parse(fs.readFileSync(json, 'utf8'));
      expect(report.summary.localRatio).toBe(0.5);
      expect(report.summary.transport).toBe('shm');
      for (const policy of ['elastic', '4k', '16k', '64k']) expect(typeof report.summary.suiteAverageSlowdown[policy]).toBe('number');
      expect(report.summary.allVerified).toBe(true);
      expect(report.workloads.map((w: { name: string }) => w.name)).toEqual(['kvcache', 'sort']);
      expect(report.workloads[0].policies).toHaveLength(4);
      for (const w of report.workloads as Array<{ elasticTimeRatio: number; elasticTimeRatioRange: [number, number]; policies: Array<{ runsMs: number[]; measuredMs: number }> }>) {
        // The median of the per-repeat ratios lies within their range.
        expect(w.elasticTimeRatioRange[0]).toBeLessThanOrEqual(w.elasticTimeRatio);
        expect(w.elasticTimeRatio).toBeLessThanOrEqual(w.elasticTimeRatioRange[1]);
        // 3 repeats or more (up to 9: these runs are short), two at a time,
        // every policy as many; each policy's figure is its median run.
        const repeats = w.policies[0].runsMs.length;
        expect(repeats).toBeGreaterThanOrEqual(3);
        expect(repeats).toBeLessThanOrEqual(9);
        expect(repeats % 2).toBe(1);
        for (const p of w.policies) {
          expect(p.runsMs).toHaveLength(repeats);
          expect(p.measuredMs).toBe([...p.runsMs].sort((x, y) => x - y)[(repeats - 1) >> 1]);
        }
      }
      expect(report.scaling.points).toHaveLength(2);
      const page = fs.readFileSync(html, 'utf8');
      expect(page).toMatch(/<svg/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
