/**
 * The control server's options, checked once (each error names the option
 * and what it accepts), and the small pure helpers of its hello and listen
 * paths.
 */
import * as crypto from 'node:crypto';
import { OptionError, SystemError } from '../errors';
import { formatHostPort } from './frames';
import type { ControlServerOptions } from './control-server';

export interface ServerConfig {
  host: string;
  port: number;
  token: string | undefined;
  heartbeatMs: number;
  leaseTimeoutMs: number;
  helloTimeoutMs: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export function checkOptions(options: ControlServerOptions): ServerConfig {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError('options', 'expected an object with at least { backend }');
  }
  const { backend, host = '127.0.0.1', token, nodeId } = options;
  if (typeof backend !== 'object' || backend === null || typeof backend.grant !== 'function') {
    throw new OptionError('backend', 'expected a SlabBackend (see lib/node/backend.ts)');
  }
  if (!Number.isSafeInteger(backend.slots) || backend.slots < 0) {
    throw new OptionError('backend', `backend.slots must be a non-negative integer, got ${String(backend.slots)}`);
  }
  if (typeof host !== 'string' || host === '') {
    throw new OptionError('host', `expected a host name or address, got ${String(host)}`);
  }
  if (token !== undefined && (typeof token !== 'string' || token === '')) {
    throw new OptionError('token', 'expected a non-empty string, or no token for an open memory node');
  }
  if (nodeId !== undefined && typeof nodeId !== 'string') throw new OptionError('nodeId', 'expected a string');
  const leaseTimeoutMs = integerOption('leaseTimeoutMs', options.leaseTimeoutMs, 10_000, 2, MAX_TIMER_MS);
  // Unless told otherwise, a session gets at least four heartbeats per lease timeout.
  const heartbeatDefault = Math.min(1000, Math.max(1, Math.floor(leaseTimeoutMs / 4)));
  const heartbeatMs = integerOption('heartbeatMs', options.heartbeatMs, heartbeatDefault, 1, MAX_TIMER_MS);
  if (leaseTimeoutMs <= heartbeatMs) {
    throw new OptionError(
      'leaseTimeoutMs',
      `must exceed heartbeatMs (${heartbeatMs}), or every session expires between heartbeats; ` +
        `got ${leaseTimeoutMs} (several heartbeats per timeout, e.g. 10, is usual)`,
    );
  }
  return {
    host,
    port: integerOption('port', options.port, 0, 0, 65535),
    token,
    heartbeatMs,
    leaseTimeoutMs,
    helloTimeoutMs: integerOption('helloTimeoutMs', options.helloTimeoutMs, 5000, 1, MAX_TIMER_MS),
  };
}


function integerOption(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionError(name, `expected an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Hashing first makes the buffers equal in length, so the comparison leaks neither content nor length. */
export function tokensMatch(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = crypto.createHash('sha256').update(expected, 'utf8').digest();
  const b = crypto.createHash('sha256').update(given, 'utf8').digest();
  return crypto.timingSafeEqual(a, b);
}

export function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = formatHostPort(host, port);
  const fix =
    error.code === 'EADDRINUSE'
      ? `the port is in use: stop the other process or pick another port`
      : error.code === 'EACCES'
        ? 'ports below 1024 need privileges: pick a port of 1024 or more'
        : error.code === 'EADDRNOTAVAIL'
          ? 'this machine has no such address: pick one of its own, or 0.0.0.0'
          : error.message;
  const message = `cannot listen for control connections on ${where}: ${fix}`;
  if (typeof error.code !== 'string') return new Error(message, { cause: error });
  return new SystemError(message, error.code, error.errno ?? 0, error.syscall ?? 'listen');
}
