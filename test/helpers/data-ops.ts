import { COMPLETION_BYTES, COMPLETION_STATUS, COMPLETION_STRIDE, COMPLETION_TAG, completionBuffer, type DataConnection } from '../../dist/index.js';

export interface Done {
  tag: number;
  status: number;
  bytes: number;
}

/**
 * Posts ops[0..count) (polling whenever the in-flight limit is reached) and
 * collects every completion. Bounded: `idlePolls` polls of 1 s without a
 * completion fail the test instead of hanging it.
 */
export function runOps(conn: DataConnection, ops: Float64Array, count: number, idlePolls = 20): Done[] {
  const out = completionBuffer(64);
  const done: Done[] = [];
  let posted = 0;
  let idle = 0;
  while (done.length < count) {
    if (posted < count) posted += conn.post(ops.subarray(posted * 6), count - posted);
    const n = conn.poll(out, 1000);
    idle = n === 0 ? idle + 1 : 0;
    if (idle > idlePolls) throw new Error(`no completion for ${idlePolls} polls; ${done.length}/${count} done, ${conn.inflight} in flight`);
    for (let i = 0; i < n; i++) {
      const at = i * COMPLETION_STRIDE;
      done.push({ tag: out[at + COMPLETION_TAG], status: out[at + COMPLETION_STATUS], bytes: out[at + COMPLETION_BYTES] });
    }
  }
  return done;
}
