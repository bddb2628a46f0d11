// The pager lanes' priority (RegionOptions.laneNice): lanes serve faults at a
// raised priority where the process may raise it, give it back when their
// region closes, and a priority asked for but not allowed is a clear error.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPagerPool, createRegion } from '../../dist/index.js';
import { churn } from '../helpers/churn';
import { printSkip, uffdSkipReason } from '../helpers/uffd';

const MiB = 2 ** 20;
const DIST = path.resolve(__dirname, '../../dist/index.js');
const skip = uffdSkipReason() ?? (process.getuid?.() === 0 ? undefined : 'raising a thread priority needs root here');
printSkip(skip, 'lane priority tests');

/** How many of this process's threads run at each nice value (from /proc/self/task/<tid>/stat). */
function threadsByNice(): Record<number, number> {
  const out: Record<number, number> = {};
  for (const tid of fs.readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    // Fields after the command name in parentheses start at field 3; nice is field 19.
    const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);
    out[nice] = (out[nice] ?? 0) + 1;
  }
  return out;
}

describe.skipIf(skip !== undefined)('lane priority', () => {
  it('lanes serve at nice -10 by default, at the value asked for, or as they are with null', async () => {
    expect(threadsByNice()[-10]).toBeUndefined();
    for (const [laneNice, expected] of [[undefined, -10], [-4, -4], [null, undefined]] as const) {
      const region = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, lanes: 2, laneNice });
      try {
        expect(region.laneNice).toBe(expected);
        // The lanes, and only they: not the reclaimer, not this thread.
        if (expected !== undefined) expect(threadsByNice()[expected]).toBe(2);
        else expect(Object.keys(threadsByNice())).toEqual(['0']);
        expect(churn(region, 3, 1).bad).toBe(0);
      } finally {
        await region.close();
      }
    }
  });

  it('a pooled lane gives its priority back when its region closes', async () => {
    const pool = createPagerPool();
    try {
      const region = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, lanes: 2, pool });
      expect(threadsByNice()[-10]).toBe(2);
      await region.close();
      expect(pool.stats().idle).toBe(3);
      expect(Object.keys(threadsByNice())).toEqual(['0']);
      // And takes the next region's.
      const next = await createRegion({ size: 16 * MiB, localBytes: 4 * MiB, lanes: 2, pool, laneNice: -3 });
      expect(threadsByNice()[-3]).toBe(2);
      await next.close();
    } finally {
      await pool.close();
    }
  });

  it('rejects a nice value out of range, naming the range', async () => {
    await expect(createRegion({ size: 16 * MiB, laneNice: -21 })).rejects.toMatchObject({
      code: 'ERR_DMEM_INVALID_OPTION',
      message: 'laneNice: expected an integer from -20 to 19, or null, got -21',
    });
  });

  it.skipIf(!fs.existsSync('/usr/bin/setpriv'))('without CAP_SYS_NICE: the default leaves the lanes as they are, a raise asked for is a clear error, a lowered lane is not pooled', () => {
    const script = `
      const d = require(${JSON.stringify(DIST)});
      (async () => {
        const region = await d.createRegion({ size: '8M', localBytes: '2M', lanes: 2 });
        const bytes = new Uint8Array(region.view());
        bytes.fill(7);
        console.log('default', region.laneNice, bytes.every((b) => b === 7));
        await region.close();
        try {
          await d.createRegion({ size: '8M', laneNice: -5 });
        } catch (e) {
          console.log(e.code, e.message);
        }
        // A lane lowered to nice 5 cannot come back up: the pool does not keep it.
        const pool = d.createPagerPool();
        const lowered = await d.createRegion({ size: '8M', localBytes: '2M', lanes: 2, laneNice: 5, pool });
        new Uint8Array(lowered.view()).fill(1);
        await lowered.close();
        console.log('kept', pool.stats().idle, lowered.laneNice);
        await pool.close();
      })();`;
    const run = spawnSync('/usr/bin/setpriv', ['--bounding-set=-sys_nice', '--inh-caps=-sys_nice', process.execPath, '-e', script], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    const [first, second, third] = run.stdout.trim().split('\n');
    expect(first).toBe('default undefined true');
    expect(third).toBe('kept 1 5'); // the reclaimer only
    expect(second).toBe(
      "ERR_DMEM_INVALID_OPTION laneNice: the lanes cannot run at nice -5 (EACCES): raising a thread's priority needs root or CAP_SYS_NICE; grant one, or pass laneNice: null to leave the lanes at the process's priority",
    );
  });
});
