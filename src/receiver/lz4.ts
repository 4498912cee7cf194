/**
 * LZ4 request bodies (Content-Encoding `lz4`): the LZ4 frame format, which the Collector's otlphttp exporter
 * sends with `compression: lz4` (pierrec/lz4 Writer). Checksums verified (xxHash32) as that library's reader
 * does; output counted before it is kept and bounded by the limit, as decompress.ts does for the others.
 * Two passes: the sequences' lengths first (blocks do not declare their decoded size), which give the body's
 * exact decoded size, counted once; then every block decoded into one buffer of that size. (Growing a buffer
 * by guess and doubling held up to 4x the body or 2x the output, uncounted once pipeline.ts recounted it.)
 */
import { GatewayError } from '../errors.js';

type Count = (n: number) => void;

const MAGIC = 0x184d2204;
/** Literals and matches shorter than this are copied byte by byte (cheaper than a native call for each). */
const SHORT = 32;
const BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];

function corrupt(what: string): GatewayError {
  return new GatewayError('invalid_argument', `cannot decode lz4 body: ${what}`);
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('payload_too_large', `request body exceeds ${limit} bytes after decompression`);
}

const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;
const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;
const round = (acc: number, lane: number): number => Math.imul(rotl((acc + Math.imul(lane, P2)) >>> 0, 13), P1) >>> 0;

/** xxHash32 with seed 0 (the frame's header and content checksums). */
export function xxh32(b: Uint8Array): number {
  let i = 0;
  let h: number;
  if (b.length >= 16) {
    let v1 = (P1 + P2) >>> 0;
    let v2 = P2;
    let v3 = 0;
    let v4 = (0 - P1) >>> 0;
    for (; i + 16 <= b.length; i += 16) {
      v1 = round(v1, u32(b, i));
      v2 = round(v2, u32(b, i + 4));
      v3 = round(v3, u32(b, i + 8));
      v4 = round(v4, u32(b, i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = P5;
  }
  h = (h + b.length) >>> 0;
  for (; i + 4 <= b.length; i += 4) h = Math.imul(rotl((h + Math.imul(u32(b, i), P3)) >>> 0, 17), P4) >>> 0;
  for (; i < b.length; i++) h = Math.imul(rotl((h + Math.imul(b[i]!, P5)) >>> 0, 11), P1) >>> 0;
  h = Math.imul(h ^ (h >>> 15), P2) >>> 0;
  h = Math.imul(h ^ (h >>> 13), P3) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Where a frame's blocks are, found by the first pass. */
interface Frame {
  blocks: number;
  blockChecksum: boolean;
  contentChecksum: boolean;
  size: number;
}

function readLength(src: Uint8Array, i: number, end: number, what: string): [number, number] {
  let n = 0;
  for (let b = 255; b === 255;) {
    if (i >= end) throw corrupt(`truncated ${what} length`);
    b = src[i++]!;
    n += b;
  }
  return [n, i];
}

/** The decoded size of one block (its sequences' lengths; the offsets are checked when it is decoded). */
function blockSize(src: Uint8Array, start: number, end: number, max: number): number {
  let size = 0;
  let i = start;
  for (;;) {
    if (i >= end) throw corrupt('truncated block');
    const token = src[i++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let more: number;
      [more, i] = readLength(src, i, end, 'literal');
      lit += more;
    }
    if (i + lit > end) throw corrupt('literals beyond the block');
    i += lit;
    size += lit;
    if (i === end) break; // the last sequence has literals only
    if (i + 2 > end) throw corrupt('truncated match offset');
    i += 2;
    let len = token & 15;
    if (len === 15) {
      let more: number;
      [more, i] = readLength(src, i, end, 'match');
      len += more;
    }
    size += len + 4;
    if (size > max) throw corrupt('block over the frame\'s block size');
  }
  if (size > max) throw corrupt('block over the frame\'s block size');
  return size;
}

/**
 * One LZ4 block decoded into `dst` at `o` (its room found by the first pass); matches may refer back to the
 * frame's earlier blocks (linked blocks), not before `frameStart`. Returns where the block's output ends.
 */
function decodeBlock(src: Uint8Array, start: number, end: number, dst: Buffer, o: number, frameStart: number): number {
  let i = start;
  for (;;) {
    const token = src[i++]!;
    let lit = token >>> 4;
    if (lit === 15) for (let b = 255; b === 255;) lit += (b = src[i++]!);
    // short literals and matches byte by byte: a subarray or native call for each made a 64 MiB body of
    // short sequences block the event loop for ~4 s
    if (lit < SHORT) for (let k = 0; k < lit; k++) dst[o + k] = src[i + k]!;
    else dst.set(src.subarray(i, i + lit), o);
    i += lit;
    o += lit;
    if (i === end) return o; // the last sequence has literals only
    const offset = src[i]! | (src[i + 1]! << 8);
    i += 2;
    let len = token & 15;
    if (len === 15) for (let b = 255; b === 255;) len += (b = src[i++]!);
    len += 4;
    if (offset === 0 || offset > o - frameStart) throw corrupt('match outside the output');
    if (len < SHORT) for (let k = 0; k < len; k++) dst[o + k] = dst[o + k - offset]!;
    else if (offset >= len) dst.copyWithin(o, o - offset, o - offset + len);
    else { // a long run (overlapping): its pattern copied in doubling steps, not byte by byte (~5 ns a byte)
      for (let done = 0, step = offset; done < len; done += step, step += step) {
        dst.copyWithin(o + done, o - offset, o - offset + Math.min(step, len - done));
      }
    }
    o += len;
  }
}

/**
 * An lz4 body: LZ4 frames (and skippable frames), at most `limit` bytes decoded. A frame's declared content
 * size, when it has one, is checked against the limit before its blocks are walked.
 */
export function lz4Frames(src: Uint8Array, limit: number, count: Count): Uint8Array {
  // First pass: frame descriptors and block lengths; nothing decoded, nothing allocated.
  const frames: Frame[] = [];
  let total = 0;
  let pos = 0;
  while (pos < src.length) {
    if (pos + 4 > src.length) throw corrupt('truncated frame');
    const magic = u32(src, pos);
    if (magic >= 0x184d2a50 && magic <= 0x184d2a5f) { // skippable frame
      if (pos + 8 > src.length) throw corrupt('truncated skippable frame');
      pos += 8 + u32(src, pos + 4);
      continue;
    }
    if (magic !== MAGIC) throw corrupt('not an LZ4 frame');
    if (pos + 7 > src.length) throw corrupt('truncated frame descriptor');
    const flg = src[pos + 4]!;
    const bd = src[pos + 5]!;
    if (flg >> 6 !== 1) throw corrupt('unknown frame version');
    if (flg & 0x01) throw corrupt('dictionaries are not supported');
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSizeFlag = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const max = BLOCK_MAX[(bd >> 4) & 7]!;
    if (!max || (bd & 0x8f) || (flg & 0x02)) throw corrupt('bad frame descriptor');
    const descEnd = pos + 6 + (contentSizeFlag ? 8 : 0);
    if (descEnd + 1 > src.length) throw corrupt('truncated frame descriptor');
    if (((xxh32(src.subarray(pos + 4, descEnd)) >>> 8) & 0xff) !== src[descEnd]) throw corrupt('frame descriptor checksum mismatch');
    let declared: number | null = null;
    if (contentSizeFlag) {
      declared = u32(src, pos + 6) + u32(src, pos + 10) * 2 ** 32;
      if (total + declared > limit) throw tooLarge(limit);
    }
    pos = descEnd + 1;
    const frame: Frame = { blocks: pos, blockChecksum, contentChecksum, size: 0 };
    for (;;) {
      if (pos + 4 > src.length) throw corrupt('truncated block size');
      const word = u32(src, pos);
      pos += 4;
      if (word === 0) break; // end mark
      const size = word & 0x7fffffff;
      const end = pos + size;
      if (end + (blockChecksum ? 4 : 0) > src.length) throw corrupt('truncated block');
      if (size > max) throw corrupt('block over the frame\'s block size');
      frame.size += word & 0x80000000 ? size : blockSize(src, pos, end, max); // stored uncompressed, or not
      if (total + frame.size > limit) throw tooLarge(limit);
      pos = end + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) {
      if (pos + 4 > src.length) throw corrupt('truncated content checksum');
      pos += 4;
    }
    if (declared !== null && frame.size !== declared) throw corrupt(`frame produced ${frame.size} of its ${declared} bytes`);
    total += frame.size;
    frames.push(frame);
  }
  if (pos > src.length) throw corrupt('truncated skippable frame');
  // Second pass: every frame decoded into one buffer of the size found, checksums verified.
  count(total);
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  for (const f of frames) {
    const frameStart = o;
    pos = f.blocks;
    for (;;) {
      const word = u32(src, pos);
      pos += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      const end = pos + size;
      if (f.blockChecksum && xxh32(src.subarray(pos, end)) !== u32(src, end)) throw corrupt('block checksum mismatch');
      if (word & 0x80000000) {
        out.set(src.subarray(pos, end), o);
        o += size;
      } else {
        o = decodeBlock(src, pos, end, out, o, frameStart);
      }
      pos = end + (f.blockChecksum ? 4 : 0);
    }
    if (f.contentChecksum && xxh32(out.subarray(frameStart, o)) !== u32(src, pos)) throw corrupt('content checksum mismatch');
  }
  return out;
}
