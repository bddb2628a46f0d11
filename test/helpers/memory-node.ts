import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

export const BIN = path.resolve(__dirname, '../../bin/dmem.js');

export interface ServeProcess {
  child: ChildProcess;
  host: string;
  port: number;
  lines: string[];
  exited: Promise<number | null>;
}

/**
 * Starts `dmem serve` in a child process on a free port; resolves once it
 * listens. The node stops with this process (--stop-with-parent: its stdin
 * is our pipe), so a test worker that dies leaves no node behind.
 */
export async function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--stop-with-parent', ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let buffered = '';
  const listening = new Promise<{ host: string; port: number }>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        const m = /listening on ([\d.]+):(\d+)/.exec(line);
        if (m) resolve({ host: m[1], port: Number(m[2]) });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    child.once('exit', (code) => reject(new Error(`dmem serve exited with ${code}: ${lines.join('\n')}`)));
  });
  const { host, port } = await listening;
  return { child, host, port, lines, exited };
}

/** A deterministic pseudo-random generator (xorshift32), for seeded test data. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Waits (bounded by count, not by time) until `check` holds. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, tries = 300, stepMs = 20): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`gave up waiting until ${what}`);
}

/**
 * Makes `region`'s reclaimer fail against a dead memory node: dirties half
 * the region (much of it evicted to the node), kills `serve`, then takes
 * fresh (zero) pages until the free budget is under the reclaimer's low
 * watermark but not gone, so that no fault needs it: the reclaimer must
 * write dirty pages back, and cannot. Returns without waiting for the failure.
 */
export async function killNodeUnderDirtyRegion(region: { view(): ArrayBuffer; stats(): { budgetPages: number; localPages: number } }, serve: ServeProcess): Promise<void> {
  const words = new Uint32Array(region.view());
  const pages = words.length / 1024;
  for (let p = 0; p < pages / 2; p++) words[p * 1024] = p + 1;
  serve.child.kill('SIGKILL');
  await serve.exited;
  const s = region.stats();
  const free = s.budgetPages - s.localPages;
  for (let p = pages / 2; p < pages / 2 + Math.max(0, free - 32); p++) words[p * 1024] = 1;
}
