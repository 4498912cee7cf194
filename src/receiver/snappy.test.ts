/** Snappy bodies (block and framing formats): round trips, checksums, limits and counting, corrupt input. */
import { describe, expect, it } from 'vitest';
import { decompress } from './decompress.js';
import { compressibleSample, gatewayFailure } from '../../test/helpers/bodies.js';
import { snappyEncodeBlock, snappyEncodeFramed } from '../../test/helpers/snappy.js';

const sample = compressibleSample;
const failure = gatewayFailure;

describe('snappy Content-Encoding', () => {
  it('decodes the block format (snappy) and the framing format (snappy, x-snappy-framed), compressed and raw chunks', async () => {
    for (const n of [0, 1, 70, 65536, 200_000]) {
      const src = sample(n);
      const block = snappyEncodeBlock(src);
      if (n > 1000) expect(block.length).toBeLessThan(n);
      expect(Buffer.from(await decompress(block, 'snappy', 1 << 20)).equals(src), `block ${n}`).toBe(true);
      for (const raw of [false, true]) {
        const framed = snappyEncodeFramed(src, raw);
        expect(Buffer.from(await decompress(framed, 'snappy', 1 << 20)).equals(src), `framed ${n} ${raw}`).toBe(true);
        expect(Buffer.from(await decompress(framed, 'x-snappy-framed', 1 << 20)).equals(src), `x-framed ${n} ${raw}`).toBe(true);
      }
    }
  });

  // Written by hand from format_description.txt, independently of test/helpers/snappy.ts's encoder.
  it('decodes hand-made blocks of every element kind: literal lengths inline and in 1-2 bytes, copies with 1-, 2- and 4-byte offsets, overlapping', async () => {
    const run = Buffer.from([12, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x11, 0x04]); // "abcd", copy len 8 offset 4
    expect(Buffer.from(await decompress(run, 'snappy', 1024)).toString()).toBe('abcdabcdabcd');
    const lit = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251));
    const block = Buffer.concat([
      Buffer.from([0xf4, 0x02]), // 372 bytes
      Buffer.from([0xf4, 0x2b, 0x01]), lit, // literal, length-1 (299) in 2 bytes
      Buffer.from([0x25, 0x2c]), // copy, 1-byte offset: len 5, offset 300 (its high bits in the tag)
      Buffer.from([0xfe, 0x2c, 0x01]), // copy, 2-byte offset: len 64, offset 300
      Buffer.from([0x0b, 0x71, 0x01, 0x00, 0x00]), // copy, 4-byte offset: len 3, offset 369
    ]);
    const want = Buffer.concat([lit, lit.subarray(0, 5), lit.subarray(5, 69), lit.subarray(0, 3)]);
    expect(Buffer.from(await decompress(block, 'snappy', 1024)).equals(want)).toBe(true);
    const lit100 = Buffer.concat([Buffer.from([100, 0xf0, 99]), lit.subarray(0, 100)]); // length-1 in 1 byte
    expect(Buffer.from(await decompress(lit100, 'snappy', 1024)).equals(lit.subarray(0, 100))).toBe(true);
  });

  it('counts the output before keeping it and refuses it beyond the limit (413) by the declared length', async () => {
    const src = sample(100_000);
    let counted = 0;
    await decompress(snappyEncodeBlock(src), 'snappy', 1 << 20, (n) => { counted += n; });
    expect(counted).toBe(100_000);
    counted = 0;
    await decompress(snappyEncodeFramed(src), 'x-snappy-framed', 1 << 20, (n) => { counted += n; });
    expect(counted).toBe(100_000); // one buffer, counted once (decode-cost.test.ts)
    // A block declaring 1 GiB in 5 bytes: refused before anything is allocated.
    const bomb = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04]);
    expect((await failure(decompress(bomb, 'snappy', 1 << 20))).httpStatus).toBe(413);
    expect((await failure(decompress(snappyEncodeFramed(Buffer.alloc(300_000)), 'x-snappy-framed', 200_000))).httpStatus).toBe(413);
  });

  it('refuses corrupt bodies with 400: a bad checksum, a copy before the start, a short block, a reserved chunk type', async () => {
    const framed = snappyEncodeFramed(sample(5000));
    framed[14] = framed[14]! ^ 0xff; // inside the first chunk's data
    expect((await failure(decompress(framed, 'x-snappy-framed', 1 << 20))).message).toMatch(/snappy/);
    const badCopy = Buffer.from([8, 0x01 | (0 << 2), 5]); // length 8, copy of offset 5 with nothing before
    expect((await failure(decompress(badCopy, 'snappy', 1 << 20))).httpStatus).toBe(400);
    const short = snappyEncodeBlock(Buffer.from('hello world'));
    expect((await failure(decompress(short.subarray(0, short.length - 2), 'snappy', 1 << 20))).httpStatus).toBe(400);
    const reserved = Buffer.concat([snappyEncodeFramed(Buffer.from('x')), Buffer.from([0x02, 0, 0, 0])]);
    expect((await failure(decompress(reserved, 'x-snappy-framed', 1 << 20))).message).toMatch(/reserved/);
    expect((await failure(decompress(Buffer.from('plain'), 'x-snappy-framed', 1 << 20))).message).toMatch(/stream identifier/);
  });
});
