import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryNodeClient } from '../../dist/index.js';
import { BIN, eventually, spawnServe } from '../helpers/memory-node';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmem-bench-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('dmem serve', () => {
  it('logs connects and leases, prints stats on SIGUSR1, and shuts down cleanly on SIGTERM', async () => {
    const serve = await spawnServe(['--size', '8M', '--slab-size', '4M', '--token', 'T']);
    const client = await MemoryNodeClient.connect({ host: serve.host, port: serve.port, token: 'T', client: 'cli-test' });
    await client.lease();
    serve.child.kill('SIGUSR1');
    await eventually(() => serve.lines.some((l) => /stats \{.*"leases":1/.test(l)), 'stats are printed');
    await client.close();
    await eventually(() => serve.lines.some((l) => /disconnected/.test(l)), 'the disconnect is logged');
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    const log = serve.lines.join('\n');
    expect(log).toMatch(/listening on 127\.0\.0\.1:\d+, transport tcp, pool 8 MiB in DRAM/);
    expect(log).toMatch(/session \d+ connected \(client "cli-test"\)/);
    expect(log).toMatch(/leased slab 0/);
    expect(log).toMatch(/SIGTERM: shutting down/);
    expect(log).toMatch(/stopped/);
  });

  it('--stop-with-parent: the node stops when its parent dies, even by SIGKILL', async () => {
    const script = `
      const { spawn } = require('node:child_process');
      const c = spawn(process.execPath, [${JSON.stringify(BIN)}, 'serve', '--listen', '127.0.0.1:0', '--stop-with-parent', '--size', '8M', '--slab-size', '4M'], { stdio: ['pipe', 'inherit', 'inherit'] });
      console.log('child ' + c.pid);
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await eventually(() => /child \d+/.test(out) && /listening on/.test(out), 'the node listens');
    const pid = Number(/child (\d+)/.exec(out)![1]);
    // Gone, or a zombie waiting for an init that may never reap it.
    const alive = (): boolean => {
      try {
        return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);
    parent.kill('SIGKILL');
    await eventually(() => !alive(), 'the node is gone with its parent');
  });

  it('refuses impossible options with a message naming the option', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'serve', ...args], { encoding: 'utf8', env: { ...process.env, DMEM_TOKEN: '' } });
    const noToken = run('--listen', '0.0.0.0:0');
    expect(noToken.status).toBe(2);
    expect(noToken.stderr).toMatch(/token: listening on 0\.0\.0\.0 \(not loopback\) needs a token/);
    expect(run('--size', 'huge').stderr).toMatch(/size: expected a size such as/);
    expect(run('--transport', 'pigeon').stderr).toMatch(/transport: expected tcp, shm or file/);
    expect(run('--transport', 'file').stderr).toMatch(/--file PATH/);
    expect(run('--lease-timeout', '-1').stderr).toMatch(/lease-timeout/);
  });
});

describe('dmem bench transport', () => {
  it('writes results for every transport beside the raw baseline', () => {
    const out = path.join(tempDir(), 'out.json');
    const run = spawnSync(process.execPath, [BIN, 'bench', 'transport', '--iterations', '50', '--json', out], { encoding: 'utf8' });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const report = JSON.parse(fs.readFileSync(out, 'utf8')) as {
      results: Array<{ transport: string; op: string; size: number; inflight: number; p50Us: number; p99Us: number; opsPerSec: number }>;
      baseline: Array<{ size: number; inflight: number; p50Us: number; opsPerSec: number }>;
    };
    expect(report.baseline.map((b) => [b.size, b.inflight])).toEqual([[4096, 1], [4096, 16], [65536, 1], [65536, 16]]);
    expect(report.results).toHaveLength(3 * 2 * 2 * 2);
    expect(new Set(report.results.map((r) => r.transport))).toEqual(new Set(['tcp', 'shm', 'file']));
    for (const r of [...report.results, ...report.baseline]) {
      expect(r.p50Us).toBeGreaterThan(0);
      expect(r.opsPerSec).toBeGreaterThan(0);
    }
    expect(run.stdout).toMatch(/raw tcp/);
  });
});

describe('dmem bench pf', () => {
  it('runs the pfbenchmark patterns with several touching threads, each page checked, beside the floor', () => {
    const out = path.join(tempDir(), 'pf.json');
    const run = spawnSync(process.execPath, [BIN, 'bench', 'pf', '-t', '3', '--working-set', '8M', '--repeat', '1', '--json', out], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/3 touching threads \(UMap pfbenchmark: compare with its -t 3\)/);
    const report = JSON.parse(fs.readFileSync(out, 'utf8')) as { threads: number; trials: Array<{ pager: string; block: string; pattern: string; pagesPerSec: number }> };
    expect(report.threads).toBe(3);
    // 4 patterns x (floor, dmem) x (4k, 64k); a page that lost its data would have failed the run.
    expect(report.trials).toHaveLength(16);
    for (const t of report.trials) expect(t.pagesPerSec).toBeGreaterThan(0);
    const refused = spawnSync(process.execPath, [BIN, 'bench', 'pf', '--threads', 'many'], { encoding: 'utf8' });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/threads: expected an integer from 1 to 64, got "many"/);
  });
});
