/**
 * Child process entry of the raw socket baseline server (see
 * native/core/transport/raw_baseline.h). Prints its port; stops on SIGTERM.
 */
import { loadCore } from '../native/binding';

const { NativeRawServer } = loadCore();
const server = new NativeRawServer('127.0.0.1', 0);
process.stdout.write(`raw baseline listening on ${server.port}\n`);
const keepAlive = setInterval(() => undefined, 1 << 30);
const stop = (): void => {
  clearInterval(keepAlive);
  server.close();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
