/**
 * Servers the benchmarks run in a child process, so that client and server
 * sit in separate processes for every transport and for the baseline alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

export interface ChildServer {
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'dmem.js');

/** Spawns `node <args>`; resolves when a stdout line matches `ready` (its first group is the port). */
export function spawnChild(args: string[], ready: RegExp, what: string): Promise<ChildServer> {
  // stdin is a pipe nobody writes: when this process dies, even by a crash,
  // the child sees it close (dmem serve --stop-with-parent).
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = ready.exec(output);
      if (m !== null) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve({
          host: '127.0.0.1',
          port: Number(m[1]),
          stop: async () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code} before it was ready:\n${output}`)));
  });
}

export function spawnMemoryNode(args: string[]): Promise<ChildServer> {
  return spawnChild([BIN, 'serve', '--listen', '127.0.0.1:0', '--stop-with-parent', ...args], /listening on [\d.]+:(\d+)/, 'dmem serve');
}

export function spawnRawServer(): Promise<ChildServer> {
  return spawnChild([path.join(__dirname, 'raw-server-main.js')], /raw baseline listening on (\d+)/, 'raw baseline server');
}
