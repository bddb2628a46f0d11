/**
 * The calling thread's nice value (Linux: setpriority(2) on a thread id
 * sets that thread's alone). A lane serves faults that stop a vCPU while
 * the other vCPUs compute on the same cores: at the default priority the
 * scheduler lets them run on before the lane, and the stopped vCPU waits
 * for both (quick kvcache, elastic: 51 µs mean fault service at nice 0,
 * 25 µs at -10). Raising a thread's priority needs root or CAP_SYS_NICE
 * (or an RLIMIT_NICE that allows it).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

/** This thread's kernel id. */
function currentThreadId(): number {
  // "<pid>/task/<tid>"
  const link = fs.readlinkSync('/proc/thread-self');
  return Number(link.slice(link.lastIndexOf('/') + 1));
}

/** Sets this thread's nice value; returns the one it had. Throws Node's SystemError (EACCES) where raising it is not allowed. */
export function setThreadNice(nice: number): number {
  const tid = currentThreadId();
  const previous = os.getPriority(tid);
  if (previous !== nice) os.setPriority(tid, nice);
  return previous;
}
