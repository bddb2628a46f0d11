import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = path.resolve(__dirname, '../../bin/dmem.js');

function dmem(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
}

describe('dmem info', () => {
  it('--json prints one object with uffd and verbs members', () => {
    const run = dmem('info', '--json');
    const info = JSON.parse(run.stdout) as {
      kernel: { release: string };
      uffd: { available: boolean; mode: string; features: string[]; error?: string };
      verbs: { built: boolean; devices: unknown[]; reason?: string };
      memlock: unknown;
      hugepages: { pageSizeBytes: number };
    };
    expect(info.kernel.release).toMatch(/^\d+\.\d+/);
    expect(typeof info.uffd.available).toBe('boolean');
    if (info.uffd.available) {
      expect(['full', 'user-mode-only']).toContain(info.uffd.mode);
      expect(info.uffd.features).toContain('missingShmem');
      expect(info.uffd.features).toContain('minorShmem');
      expect(run.status).toBe(0);
    } else {
      expect(info.uffd.mode).toBe('refused');
      expect(info.uffd.error).toMatch(/vm\.unprivileged_userfaultfd/);
    }
    expect(Array.isArray(info.verbs.devices)).toBe(true);
    if (info.verbs.devices.length === 0) expect(info.verbs.reason).toMatch(/\w/);
    if (!info.verbs.built) expect(info.verbs.reason).toMatch(/libibverbs-dev/);
    expect(info.hugepages.pageSizeBytes).toBeGreaterThan(0);
  });

  it('prints a readable summary', () => {
    const run = dmem('info');
    expect(run.stdout).toMatch(/^userfaultfd\s+(full|user-mode-only|refused)/m);
    expect(run.stdout).toMatch(/^rdma\s+/m);
    expect(run.stdout).toMatch(/^memlock\s+/m);
  });

  it('rejects an unknown command and an unknown option with a usage message', () => {
    const bad = dmem('infoo');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown command "infoo"/);
    const opt = dmem('info', '--jsn');
    expect(opt.status).toBe(2);
    expect(opt.stderr).toMatch(/--jsn/);
  });
});
