import { describe, expect, it } from 'vitest';
import { formatBytes, parseSize } from '../../dist/index.js';

describe('parseSize', () => {
  it('accepts bytes and binary units', () => {
    expect(parseSize(4096, 'size')).toBe(4096);
    expect(parseSize('64k', 'size')).toBe(65536);
    expect(parseSize('512M', 'size')).toBe(512 * 2 ** 20);
    expect(parseSize('4G', 'size')).toBe(4 * 2 ** 30);
    expect(parseSize('1.5GiB', 'size')).toBe(1.5 * 2 ** 30);
  });
  it('names the option and the accepted forms on bad input', () => {
    expect(() => parseSize('lots', 'pool')).toThrow(/^pool: expected a size such as 4096, 64K, 512M or 4G/);
    expect(() => parseSize(-1, 'size')).toThrow(/non-negative/);
    expect(() => parseSize(1.5, 'size')).toThrow(/whole number/);
    try {
      parseSize('x', 'size');
    } catch (error) {
      expect((error as { code: string }).code).toBe('ERR_DMEM_INVALID_OPTION');
    }
  });
  it('formats bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(2 ** 30)).toBe('1 GiB');
  });
});
