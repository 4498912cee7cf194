/** Request body decompression: zstd and its limits. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { GatewayError } from '../errors.js';
import { ZSTD_MAX_WINDOW, decompress } from './decompress.js';

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** A zstd frame without content size: `blocks` RLE blocks of `size` bytes of 'a' under the window descriptor. */
function rleFrame(blocks: number, size: number, windowDescriptor: number): Uint8Array {
  const out = [...MAGIC, 0x00, windowDescriptor];
  for (let i = 0; i < blocks; i++) {
    const h = (i === blocks - 1 ? 1 : 0) | (1 << 1) | (size << 3);
    out.push(h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x61);
  }
  return Uint8Array.from(out);
}

/** A single-segment frame with a 1-byte content size and one raw block. */
function rawFrame(text: string, declared = text.length): Uint8Array {
  const h = 1 | (text.length << 3);
  return Uint8Array.from([...MAGIC, 0x20, declared, h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, ...Buffer.from(text)]);
}

const skippable = (n: number) => Uint8Array.from([0x50, 0x2a, 0x4d, 0x18, n, 0, 0, 0, ...new Array(n).fill(7)]);

async function failure(p: Promise<unknown>): Promise<GatewayError> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(GatewayError);
  return e as GatewayError;
}

let hasCli = true;
try { execFileSync('zstd', ['--version'], { stdio: 'ignore' }); } catch { hasCli = false; }

describe('zstd Content-Encoding', () => {
  it('decodes frames with and without a content size, skippable frames, several frames', async () => {
    const body = Buffer.concat([rawFrame('hello '), skippable(3), rleFrame(3, 4, 0x00), rawFrame('!')]);
    expect(Buffer.from(await decompress(body, 'zstd', 1024)).toString()).toBe('hello aaaaaaaaaaaa!');
    expect((await decompress(new Uint8Array(0), 'zstd', 1024)).length).toBe(0);
  });

  it.runIf(hasCli)('round-trips zstd CLI output (content size or not, checksums, levels, concatenated frames)', async () => {
    const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(500_000, 'x'), randomBytes(1000)]);
    for (const args of [[], ['--no-check'], ['-19'], [`--stream-size=${data.length}`], ['-1', `--stream-size=${data.length}`, '--long=27']]) {
      const z = execFileSync('zstd', ['-q', '-c', ...args], { input: data });
      expect(Buffer.from(await decompress(z, 'zstd', data.length)).equals(data), args.join(' ')).toBe(true);
      const twice = Buffer.concat([z, z]);
      expect(Buffer.from(await decompress(twice, 'zstd', 2 * data.length)).equals(Buffer.concat([data, data]))).toBe(true);
      expect((await failure(decompress(twice, 'zstd', 2 * data.length - 1))).kind).toBe('payload_too_large');
    }
    // a stream (no content size) asking for a 128 MiB window is refused (zstd itself wants --long for it)
    const long = execFileSync('zstd', ['-q', '-c', '--long=27'], { input: data });
    expect(await failure(decompress(long, 'zstd', data.length))).toMatchObject({ kind: 'payload_too_large', message: expect.stringMatching(/window/) });
  });

  it('refuses output beyond the limit (413), declared or produced', async () => {
    expect((await failure(decompress(rleFrame(64, 128 * 1024, 0x58), 'zstd', 1024 * 1024))).kind).toBe('payload_too_large');
    // window descriptor, 8-byte content size 2^40, one empty last raw block
    const declared = Uint8Array.from([...MAGIC, 0xc0, 0x00, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]);
    expect((await failure(decompress(declared, 'zstd', 1 << 20))).kind).toBe('payload_too_large');
  });

  it('refuses a window beyond 8 MiB without allocating it (a 1.9 GiB window answered at once)', async () => {
    const t0 = performance.now();
    const e = await failure(decompress(rleFrame(4, 16, 0xa7), 'zstd', 64 * 1024 * 1024));
    expect(e.kind).toBe('payload_too_large');
    expect(e.message).toMatch(/window/);
    expect(performance.now() - t0).toBeLessThan(100);
    // 8 MiB itself is fine
    expect((await decompress(rleFrame(2, 16, 0x68), 'zstd', 1024)).length).toBe(32);
    expect(ZSTD_MAX_WINDOW).toBe(8 * 1024 * 1024);
  });

  it('bounds the work of many tiny blocks under a large window (fzstd moves the window per block)', async () => {
    const t0 = performance.now();
    const e = await failure(decompress(rleFrame(200_000, 1, 0x68), 'zstd', 64 * 1024 * 1024));
    expect(e.kind).toBe('payload_too_large');
    expect(performance.now() - t0).toBeLessThan(500);
    // the same blocks under a small window are decoded, quickly
    const t1 = performance.now();
    expect((await decompress(rleFrame(200_000, 1, 0x00), 'zstd', 64 * 1024 * 1024)).length).toBe(200_000);
    expect(performance.now() - t1).toBeLessThan(2000);
  });

  it('answers 400 for malformed frames', async () => {
    for (const bad of [
      Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      rleFrame(3, 4, 0x00).subarray(0, 12), // truncated block
      Uint8Array.from([...MAGIC, 0x08, 0x00, 0x01, 0, 0]), // reserved bit
      Uint8Array.from([...MAGIC, 0x00, 0x00, 0x07, 0, 0]), // reserved block type
      Buffer.concat([rawFrame('ok'), Buffer.from('trailing garbage')]),
    ]) {
      expect((await failure(decompress(bad, 'zstd', 1024))).kind).toBe('invalid_argument');
    }
  });
});
