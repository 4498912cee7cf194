/**
 * What hostile snappy and lz4 bodies cost the gateway: their decoding runs on the event loop, so the work per
 * byte of the worst shapes (1-byte literals, 4-byte matches, 1-byte framed chunks) must stay a small multiple
 * of a plain pass over the bytes, and the memory held must be what was counted.
 */
import { describe, expect, it } from 'vitest';
import { decompress } from './decompress.js';
import { maskedCrc32c, SNAPPY_FRAMED_MAGIC } from './snappy.js';
import { xxh32 } from './lz4.js';

const LIMIT = 64 * 1024 * 1024;
const MAX_PASSES = 8; // after the fix: 1-3 here; before: 14-29

function varint(v: number): number[] {
  const out: number[] = [];
  for (; v >= 0x80; v >>>= 7) out.push((v & 0x7f) | 0x80);
  out.push(v);
  return out;
}

/** A snappy block of `n` 1-byte literals (2 bytes of body per byte of output). */
function snappyLiterals(n: number): Buffer {
  const pre = varint(n);
  const b = Buffer.alloc(pre.length + 2 * n);
  b.set(pre);
  for (let k = 0; k < n; k++) b[pre.length + 2 * k + 1] = 0x61;
  return b;
}

/** A snappy framed body of `n` uncompressed chunks of 1 byte each (9 bytes of body per byte of output). */
function snappyTinyChunks(n: number): Buffer {
  const chunk = Buffer.from([0x01, 5, 0, 0, 0, 0, 0, 0, 0x61]);
  chunk.writeUInt32LE(maskedCrc32c(Buffer.from('a')), 4);
  return Buffer.concat([Buffer.from(SNAPPY_FRAMED_MAGIC), ...Array<Buffer>(n).fill(chunk)]);
}

/** An lz4 frame of blocks of 4-byte matches of offset 1 (3 bytes of body per 4 bytes of output). */
function lz4ShortMatches(blocks: number): Buffer {
  const desc = Buffer.from([0x60, 0x70]); // version 1, independent blocks; 4 MiB blocks
  const parts = [Buffer.from([0x04, 0x22, 0x4d, 0x18]), desc, Buffer.from([(xxh32(desc) >>> 8) & 0xff])];
  const n = 1_000_000 - 10; // sequences per block: within its 4 MiB
  const block = Buffer.alloc(4 + 3 * n + 1);
  block.set([0x10, 0x61, 1, 0]); // 'a', then a match
  for (let k = 0; k < n; k++) block.set([0x00, 1, 0], 4 + 3 * k);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(block.length);
  for (let k = 0; k < blocks; k++) parts.push(size, block);
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

/** Best of 3 runs, in ms. */
async function ms(f: () => unknown): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    await f();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

describe('decoding cost of hostile snappy and lz4 bodies', () => {
  it('a framed snappy body of 1-byte chunks holds one buffer, counted once (was a buffer per chunk, then a joined copy)', async () => {
    const body = snappyTinyChunks(100_000);
    let counted = 0;
    const out = await decompress(body, 'x-snappy-framed', LIMIT, (n) => { counted += n; });
    expect(out.length).toBe(100_000);
    expect(counted).toBe(100_000);
  });

  it('an lz4 body of many small frames is counted as its output (each frame took 4x the rest of the body as a guess)', async () => {
    const desc = Buffer.from([0x60, 0x40]); // version 1, independent blocks; 64 KiB blocks
    const frame = Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18]), desc, Buffer.from([(xxh32(desc) >>> 8) & 0xff]),
      Buffer.from([6, 0, 0, 0, 0x50, 0x68, 0x65, 0x6c, 0x6c, 0x6f]), Buffer.alloc(4)]); // "hello" in one block
    let counted = 0;
    const out = await decompress(Buffer.concat(Array<Buffer>(10_000).fill(frame)), 'lz4', LIMIT, (n) => { counted += n; });
    expect(out.length).toBe(50_000);
    expect(Buffer.from(out.subarray(0, 10)).toString()).toBe('hellohello');
    expect(counted).toBe(50_000);
  });

  // Relative to a CRC-32C pass over the same body (a table lookup per byte), so that a loaded machine
  // slows both sides. Before: ~60-90 passes' worth for these shapes; after: a few.
  it('the worst shapes cost at most a few table-driven passes over the body', async () => {
    const cases: [string, Buffer, string][] = [
      ['snappy 1-byte literals', snappyLiterals(4 * 1024 * 1024), 'snappy'],
      ['snappy 1-byte framed chunks', snappyTinyChunks(1024 * 1024), 'x-snappy-framed'],
      ['lz4 4-byte matches', lz4ShortMatches(3), 'lz4'],
    ];
    const slow: string[] = [];
    for (const [name, body, enc] of cases) {
      const pass = await ms(() => maskedCrc32c(body));
      const decode = await ms(() => decompress(body, enc, LIMIT));
      if (decode / pass > MAX_PASSES) slow.push(`${name}: ${decode.toFixed(0)} ms to decode, ${pass.toFixed(0)} ms a pass`);
    }
    expect(slow).toEqual([]);
  });
});
