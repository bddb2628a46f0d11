// How dmem reports userfaultfd permission: refused (simulated), and the real
// fallback to user-mode-only for an unprivileged user.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UFFD_ATTEMPTS, resolveUffdAccess, type UffdProber } from '../../dist/index.js';

const DIST = path.resolve(__dirname, '../../dist/index.js');

function refusing(code: string, errno: number): UffdProber {
  return (attempt) => {
    const error = new Error(`${attempt.describe}: Operation not permitted`) as Error & { code: string; errno: number };
    error.code = code;
    error.errno = -errno;
    throw error;
  };
}

describe('userfaultfd permission', () => {
  it('a refusal on every path names the three fixes', () => {
    let thrown: (Error & { code?: string; attempts?: string[] }) | undefined;
    try {
      resolveUffdAccess(refusing('EPERM', 1), false);
    } catch (error) {
      thrown = error as Error & { code?: string; attempts?: string[] };
    }
    expect(thrown?.code).toBe('ERR_DMEM_UFFD_REFUSED');
    expect(thrown?.attempts).toHaveLength(UFFD_ATTEMPTS.length);
    expect(thrown?.message).toMatch(/root or with CAP_SYS_PTRACE/);
    expect(thrown?.message).toMatch(/sysctl -w vm\.unprivileged_userfaultfd=1/);
    expect(thrown?.message).toMatch(/\/dev\/userfaultfd/);
    expect(thrown?.message).toMatch(/EPERM/);
  });

  it('falls back to user-mode-only and says what that costs', () => {
    const access = resolveUffdAccess((attempt) => {
      if (!attempt.userModeOnly) refusing('EPERM', 1)(attempt);
      return { features: 0 };
    }, false);
    expect(access.mode).toBe('user-mode-only');
    expect(access.note).toMatch(/EFAULT/);
  });

  const root = process.getuid?.() === 0;
  const nobodyCanRead = root && fs.existsSync(DIST);
  if (!nobodyCanRead) console.warn('SKIP unprivileged userfaultfd test: needs root to switch to user nobody');

  it.skipIf(!nobodyCanRead)('an unprivileged user really gets the mode the sysctl allows', () => {
    const sysctl = fs.readFileSync('/proc/sys/vm/unprivileged_userfaultfd', 'utf8').trim();
    const script = `const d = require(${JSON.stringify(DIST)}); const a = d.uffdAccess();
      const r = d.UffdRegion.create({ size: 8192 }); r.copy(0, new Uint8Array(4096).fill(7));
      const v = new Uint8Array(r.view())[0]; r.close();
      console.log(JSON.stringify({ mode: a.mode, note: a.note ?? null, v }));`;
    const child = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
    if (child.status !== 0 && /EACCES|permission denied/i.test(child.stderr)) {
      console.warn(`SKIP unprivileged userfaultfd test: user nobody cannot read the build: ${child.stderr.split('\n')[0]}`);
      return;
    }
    expect(child.stderr).toBe('');
    const result = JSON.parse(child.stdout) as { mode: string; note: string | null; v: number };
    expect(result.v).toBe(7);
    if (sysctl === '1') {
      expect(result.mode).toBe('full');
    } else {
      expect(result.mode).toBe('user-mode-only');
      expect(result.note).toMatch(/EFAULT/);
    }
  });
});
