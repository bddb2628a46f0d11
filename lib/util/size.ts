import { OptionError } from '../errors';

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Parses 4096, '64k', '512M', '4G', '1.5g' (binary units) into bytes. */
export function parseSize(value: number | string, option: string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new OptionError(option, `expected a non-negative whole number of bytes, got ${value}`);
    }
    return value;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(String(value));
  if (match === null) {
    throw new OptionError(option, `expected a size such as 4096, 64K, 512M or 4G, got ${JSON.stringify(value)}`);
  }
  const bytes = Math.round(Number(match[1]) * UNITS[match[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) throw new OptionError(option, `size ${value} is too large`);
  return bytes;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
