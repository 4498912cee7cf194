/**
 * A small snappy encoder for tests (block and framing formats, as github.com/golang/snappy writes them): greedy
 * 4-byte matches, so bodies carry literals, short and long copies and overlapping runs.
 */
import { maskedCrc32c, SNAPPY_FRAMED_MAGIC } from '../../src/receiver/snappy.js';

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}

function literal(out: number[], src: Uint8Array, from: number, to: number): void {
  const n = to - from - 1;
  if (n < 0) return;
  if (n < 60) out.push(n << 2);
  else if (n < 256) out.push(60 << 2, n);
  else if (n < 65536) out.push(61 << 2, n & 0xff, n >> 8);
  else out.push(62 << 2, n & 0xff, (n >> 8) & 0xff, n >> 16);
  for (let i = from; i < to; i++) out.push(src[i]!);
}

function copy(out: number[], offset: number, len: number): void {
  while (len > 0) {
    const n = Math.min(len, 64);
    if (n >= 4 && n <= 11 && offset < 2048) out.push(1 | ((n - 4) << 2) | ((offset >> 8) << 5), offset & 0xff);
    else if (offset < 65536) out.push(2 | ((n - 1) << 2), offset & 0xff, offset >> 8);
    else out.push(3 | ((n - 1) << 2), offset & 0xff, (offset >> 8) & 0xff, (offset >> 16) & 0xff, offset >>> 24);
    len -= n;
  }
}

export function snappyEncodeBlock(src: Uint8Array): Buffer {
  const out = varint(src.length);
  const seen = new Map<number, number>();
  let lit = 0;
  let i = 0;
  while (i + 4 <= src.length) {
    const key = src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24);
    const prev = seen.get(key);
    seen.set(key, i);
    if (prev === undefined || i - prev > 0xffff) { i++; continue; }
    let len = 4;
    while (i + len < src.length && src[prev + len] === src[i + len]) len++; // may run into [i, ...): overlapping copy
    literal(out, src, lit, i);
    copy(out, i - prev, len);
    i += len;
    lit = i;
  }
  literal(out, src, lit, src.length);
  return Buffer.from(out);
}

/** The framing format: stream identifier, then chunks of at most 64 KiB, compressed unless `raw`. */
export function snappyEncodeFramed(src: Uint8Array, raw = false): Buffer {
  const parts: Buffer[] = [Buffer.from(SNAPPY_FRAMED_MAGIC)];
  for (let at = 0; at < src.length; at += 65536) {
    const chunk = src.subarray(at, at + 65536);
    const data = raw ? Buffer.from(chunk) : snappyEncodeBlock(chunk);
    const head = Buffer.alloc(8);
    head[0] = raw ? 0x01 : 0x00;
    head.writeUIntLE(data.length + 4, 1, 3);
    head.writeUInt32LE(maskedCrc32c(chunk), 4);
    parts.push(head, data);
  }
  return Buffer.concat(parts);
}
