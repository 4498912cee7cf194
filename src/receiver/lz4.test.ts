/** LZ4 bodies (frame format, as the lz4 CLI and the Collector's pierrec/lz4 write them): options, checksums, limits. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { decompress } from './decompress.js';
import { compressibleSample, gatewayFailure } from '../../test/helpers/bodies.js';
import { xxh32 } from './lz4.js';

let hasCli = true;
try { execFileSync('lz4', ['--version'], { stdio: 'ignore' }); } catch { hasCli = false; }
const lz4 = (input: Uint8Array, ...args: string[]) => execFileSync('lz4', ['-q', '-c', ...args], { input });

const sample = compressibleSample;
const failure = gatewayFailure;

describe('lz4 Content-Encoding', () => {
  it('xxHash32 matches the reference values', () => {
    expect(xxh32(Buffer.alloc(0)).toString(16)).toBe('2cc5d05');
    expect(xxh32(Buffer.from('a')).toString(16)).toBe('550d7456');
    expect(xxh32(Buffer.from('abc')).toString(16)).toBe('32d153ff');
    expect(xxh32(Buffer.from('Nobody inspects the spammish repetition')).toString(16)).toBe('e2293b2f');
  });

  it.skipIf(!hasCli)('decodes frames of every option: block sizes, linked blocks, block and content checksums, content size, several frames', async () => {
    for (const n of [0, 10, 70_000, 600_000]) {
      const src = sample(n);
      for (const args of [[], ['-B4'], ['-B4', '-BD'], ['-BX'], ['--content-size'], ['--no-frame-crc'], ['-9', '-B5']]) {
        const out = await decompress(lz4(src, ...args), 'lz4', 1 << 21);
        expect(Buffer.from(out).equals(src), `${n} ${args.join(' ')}`).toBe(true);
      }
    }
    const two = Buffer.concat([lz4(Buffer.from('hello ')), lz4(Buffer.from('world'), '-BD')]);
    expect(Buffer.from(await decompress(two, 'lz4', 1024)).toString()).toBe('hello world');
  });

  it.skipIf(!hasCli)('refuses output beyond the limit (413), counting it as it grows, and corrupt frames (400)', async () => {
    const zeros = lz4(Buffer.alloc(3 << 20));
    expect(zeros.length).toBeLessThan(64 * 1024);
    expect((await failure(decompress(zeros, 'lz4', 1 << 20))).httpStatus).toBe(413);
    expect((await failure(decompress(lz4(Buffer.alloc(3 << 20), '--content-size'), 'lz4', 1 << 20))).httpStatus).toBe(413);
    let counted = 0;
    const src = sample(600_000);
    await decompress(lz4(src), 'lz4', 1 << 21, (n) => { counted += n; });
    expect(counted).toBeGreaterThanOrEqual(600_000);
    expect(counted).toBeLessThanOrEqual(4 * 600_000);
    const bad = Buffer.from(lz4(src));
    bad[bad.length >> 1] ^= 0x55;
    expect((await failure(decompress(bad, 'lz4', 1 << 21))).httpStatus).toBe(400);
    expect((await failure(decompress(Buffer.from('not lz4 at all'), 'lz4', 1024))).message).toMatch(/lz4/);
    const cut = lz4(src);
    expect((await failure(decompress(cut.subarray(0, cut.length - 10), 'lz4', 1 << 21))).httpStatus).toBe(400);
  });
});

describe('lz4 long overlapping matches', () => {
  // Runs of every short period (offset < length: copied in doubling steps), against the lz4 CLI's encoding.
  it.skipIf(!hasCli)('decode as the lz4 CLI encoded them', async () => {
    const parts: Buffer[] = [];
    for (let period = 1; period <= 40; period++) {
      const unit = randomBytes(period);
      parts.push(Buffer.alloc(period * 97 + 5000 + period, unit), randomBytes(7));
    }
    const src = Buffer.concat(parts);
    for (const args of [[], ['-9'], ['-BD']]) {
      expect(Buffer.from(await decompress(lz4(src, ...args), 'lz4', 1 << 22)).equals(src), args.join(' ')).toBe(true);
    }
  });
});

describe('lz4 output buffer', () => {
  // pipeline.ts recounts a decoded body as its length: a grown buffer (doubling, or 4x the body as a first
  // guess) returned as a view would stay held beyond what is counted.
  it.skipIf(!hasCli)('the decoded body holds no more than its length and 64 KiB (a frame without a content size)', async () => {
    for (const n of [700_000, 1_500_000]) {
      const out = await decompress(lz4(sample(n)), 'lz4', 1 << 22);
      expect(out.length).toBe(n);
      expect(out.buffer.byteLength - out.length, `${n}`).toBeLessThanOrEqual(64 * 1024);
    }
  });
});
